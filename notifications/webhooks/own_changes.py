"""Our own changes coming back: what the mail handler writes to Jira (an issue or comment made from mail, an update
a reply caused) is done as the API account, and Jira's webhook names that account as the actor. Such a change is
attributed to the person whose mail made it, so the rule "don't notify the person who made the change" holds across
the round trip, as it does for the local tracker (whose changes from mail carry the sender as their actor).

- a comment: ours when the API account wrote it; the sender is the comment's e-mail-only author or account, as the
  backend recorded them with the comment when writing it (``TrackerComment.author_email`` / ``author``);
- an issue: ours when the API account created it; the sender is its Email Sender Address, else its reporter;
- an update by the API account: the sender of the latest comment made from mail on the issue (or of the issue,
  when it was made from mail) within :data:`ATTRIBUTION_WINDOW` before the update; otherwise the API account.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from notifications.choices import EventKind
from notifications.webhooks.events import WebhookEvent
from trackers.interface import TrackerComment, TrackerIssue
from trackers.jira.account import service_account_id

log = logging.getLogger(__name__)
ATTRIBUTION_WINDOW = timedelta(minutes=10)


def _commenter(comment: TrackerComment) -> dict[str, str]:
    author = comment.author
    return {
        "account_id": author.account_id if author else "",
        "email": comment.author_email or (author.email if author else ""),
        "name": comment.author_name or (author.display_name if author else ""),
    }


def _issue_sender(issue: TrackerIssue) -> dict[str, str]:
    if issue.email_sender_address:
        return {"account_id": "", "email": issue.email_sender_address, "name": issue.email_sender_name}
    reporter = issue.reporter
    if reporter is None:
        return {}
    return {"account_id": reporter.account_id, "email": reporter.email, "name": reporter.display_name}


def is_ours(tracker: Any, event: WebhookEvent) -> bool:
    """Whether the webhook's actor is the account the backend works as."""
    client = getattr(tracker, "client", None)
    if client is None or not event.actor.get("account_id"):
        return False
    return event.actor["account_id"] == service_account_id(client)


def actor_of(tracker: Any, event: WebhookEvent, issue_key: str) -> tuple[dict[str, str], str]:
    """Who to treat as the maker of the change, and a note saying why (empty when it is the webhook's actor)."""
    if not is_ours(tracker, event):
        return event.actor, ""
    if event.kind == EventKind.COMMENTED and event.comment_id:
        comment = next((c for c in tracker.list_comments(issue_key) if c.id == event.comment_id), None)
        if comment is not None:
            return _commenter(comment), "our own comment (made from mail): its sender is the actor"
        return event.actor, ""
    if event.kind == EventKind.DELETED:
        return event.actor, ""
    issue = tracker.find_issue(issue_key)
    if issue is None:
        return event.actor, ""
    if event.kind == EventKind.CREATED:
        sender = _issue_sender(issue)
        return (sender, "our own issue (made from mail): its sender is the actor") if sender else (event.actor, "")
    moment = event.occurred_at or timezone.now()
    recent = _recent_mail_comment(tracker.list_comments(issue_key), moment)
    if recent is not None:
        return _commenter(recent), "our own update, made with a comment from mail: that mail's sender is the actor"
    if _within(issue.created_at, moment):
        sender = _issue_sender(issue)
        if sender:
            return sender, "our own update, made with the issue from mail: that mail's sender is the actor"
    return event.actor, ""


def _within(made: datetime, moment: datetime) -> bool:
    return moment - ATTRIBUTION_WINDOW <= made <= moment + timedelta(seconds=5)


def _recent_mail_comment(comments: list[TrackerComment], moment: datetime) -> TrackerComment | None:
    made_from_mail = [c for c in comments if c.source_message_id is not None and _within(c.created_at, moment)]
    return made_from_mail[-1] if made_from_mail else None
