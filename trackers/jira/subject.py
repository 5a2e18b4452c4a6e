"""One e-mail address in Jira (a data subject): ``Tracker.find_subject`` / ``Tracker.erase_subject`` of the Jira
backend.

Issues are found by a JQL text search of the Email Sender Address and Email Participants fields (``cf[N] ~``, then
kept only where the address really is the value), together with the issue keys the audit gives; the comments of
those issues are read and an e-mail-only author is recognised by the comment's entity property (where this backend
keeps it). Erasure goes through the interface's own methods where one exists (``update_issue``,
``set_participants``) and otherwise through documented REST calls: ``updateComment``, ``setCommentProperty`` and
``removeAttachment``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackers.interface import (
    ERASED_SENDER,
    REDACTED_TEXT,
    IssueUpdate,
    SubjectErasure,
    SubjectHoldings,
    TrackerComment,
    TrackerIssue,
    mentions,
    without_address,
)
from trackers.jira.fields import EMAIL_PARTICIPANTS, EMAIL_SENDER_ADDRESS, PROPERTY, jql_string

# The Jira backend (trackers.jira.tracker.JiraTracker, which imports this module): its look-ups and REST client.
JiraTracker = Any

SEARCH_LIMIT = 100


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _candidates(tracker: JiraTracker, address: str, issue_keys: Sequence[str]) -> list[TrackerIssue]:
    keys = dict.fromkeys(k.strip().upper() for k in issue_keys if k.strip())
    for name in (EMAIL_SENDER_ADDRESS, EMAIL_PARTICIPANTS):
        info = tracker.fields.find(name)
        if info is None:
            continue
        number = info.id.removeprefix("customfield_")
        jql = f'cf[{number}] ~ "{jql_string(chr(34) + address.strip() + chr(34))}" ORDER BY created DESC'
        for raw in tracker._search(jql, ["created"], limit=SEARCH_LIMIT):
            keys.setdefault(str(raw["key"]).upper())
    found = tracker.find_issues(list(keys))
    return [found[k] for k in keys if k in found]


def _holdings(
    tracker: JiraTracker, address: str, issue_keys: Sequence[str]
) -> tuple[list[TrackerIssue], list[TrackerIssue], list[TrackerComment], list[TrackerIssue]]:
    issues = _candidates(tracker, address, issue_keys)
    reported = [i for i in issues if i.email_sender_address and _same(i.email_sender_address, address)]
    participating = [i for i in issues if any(_same(a, address) for a in i.email_participants)]
    comments = [
        c for i in issues for c in tracker.list_comments(i.key) if c.author_email and _same(c.author_email, address)
    ]
    return reported, participating, comments, issues


def find(tracker: JiraTracker, address: str, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
    reported, participating, comments, _ = _holdings(tracker, address, issue_keys)
    return SubjectHoldings(reported=tuple(reported), participating=tuple(participating), comments=tuple(comments))


def _rewrite_comment(tracker: JiraTracker, issue_key: str, comment_id: str, body: str | None, **meta: Any) -> None:
    """Give a comment a new body (None: keep it) and change its entity property's keys (None: remove the key)."""
    raw = next(r for r in tracker._raw_comments(issue_key) if str(r["id"]) == comment_id)
    kept = dict(tracker._meta(raw))
    for name, value in meta.items():
        if value is None:
            kept.pop(name, None)
        else:
            kept[name] = value
    if body is not None:
        rendered = tracker._render(body)
        kept["body"] = tracker._source(body, rendered)
        tracker.client.request(
            "PUT", f"issue/{issue_key.strip().upper()}/comment/{comment_id}", json={"body": rendered}
        )
    tracker.client.request("PUT", f"comment/{comment_id}/properties/{PROPERTY}", json=kept)


def _remove_attachments(tracker: JiraTracker, issue_key: str, comment_id: str | None) -> int:
    from trackers.models import RemoteAttachment

    gone = [a for a in tracker.list_attachments(issue_key) if a.comment_id == comment_id]
    for attachment in gone:
        tracker.client.request("DELETE", f"attachment/{attachment.id}")
        RemoteAttachment.objects.filter(instance=tracker.instance, attachment_id=attachment.id).delete()
    tracker._attachments.pop(issue_key.strip().upper(), None)
    if gone:
        tracker.states.forget(issue_key.strip().upper())
    return len(gone)


def erase(
    tracker: JiraTracker, address: str, issue_keys: Sequence[str] = (), *, redact_texts: bool = False
) -> SubjectErasure:
    reported, participating, comments, issues = _holdings(tracker, address, issue_keys)
    counts = dict.fromkeys(SubjectErasure().as_counts(), 0)
    for issue in reported:
        if redact_texts:
            tracker.update_issue(
                issue.key,
                IssueUpdate(email_sender_address="", email_sender_name="", summary=REDACTED_TEXT, description=""),
            )
            counts["texts_redacted"] += 1
            counts["attachments_removed"] += _remove_attachments(tracker, issue.key, None)
        else:
            tracker.update_issue(issue.key, IssueUpdate(email_sender_address="", email_sender_name=""))
        counts["reporter_fields_cleared"] += 1
    for issue in participating:
        current = tracker.get_participants(issue.key)
        tracker.set_participants(issue.key, [a for a in current if not _same(a, address)])
        counts["participants_removed"] += 1
    rewritten: set[str] = set()
    for comment in comments:
        body = REDACTED_TEXT if redact_texts else without_address(comment.body, address)
        _rewrite_comment(tracker, comment.issue_key, comment.id, body, authorEmail=None, authorName=ERASED_SENDER)
        rewritten.add(comment.id)
        counts["comment_authors_replaced"] += 1
        if redact_texts:
            counts["texts_redacted"] += 1
            counts["attachments_removed"] += _remove_attachments(tracker, comment.issue_key, comment.id)
    for issue in issues:  # the address cut out of the other texts of the issues it touched
        current = tracker.get_issue(issue.key)
        if mentions(current.summary, address) or mentions(current.description, address):
            tracker.update_issue(
                issue.key,
                IssueUpdate(
                    summary=without_address(current.summary, address),
                    description=without_address(current.description, address),
                ),
            )
            counts["mentions_removed"] += 1
        for comment in tracker.list_comments(issue.key):
            if comment.id not in rewritten and mentions(comment.body, address):
                _rewrite_comment(tracker, issue.key, comment.id, without_address(comment.body, address))
                counts["mentions_removed"] += 1
    return SubjectErasure(**counts)
