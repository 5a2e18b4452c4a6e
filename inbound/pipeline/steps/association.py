"""Association: does this mail comment on an existing issue, and which?

Strategies run in the profile's order (each can be switched off): the ``issueKey`` directive → a foreign key
found by regex → an issue key in the subject → our own Message-IDs and reply-address tokens → In-Reply-To /
References against the Message-IDs stored with issues.
"""

from __future__ import annotations

from collections.abc import Callable

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from notifications.threading import parse_our_message_id, parse_reply_address
from trackers.interface import TrackerIssue

Found = tuple[TrackerIssue, str] | None


def _missing(ctx: Context, key: str) -> None:
    """The mail names ``key`` as its issue, and the tracker has no such issue (deleted in the tracker, or moved)."""
    if not ctx.decisions.missing_issue_key:
        ctx.decisions.missing_issue_key = key.strip().upper()


def missing_note(ctx: Context) -> str:
    key = ctx.decisions.missing_issue_key
    return f"the mail refers to {key}, which the tracker does not have (any more): deleted, or moved?" if key else ""


def _by_directive(ctx: Context) -> Found:
    key = ctx.draft.fields.get("issueKey", "").strip()
    if not key:
        return None
    issue = ctx.tracker.find_issue(key)
    if issue is None:
        _missing(ctx, key)
    return (issue, f"issueKey directive {key}") if issue else None


def _by_foreign_key(ctx: Context) -> Found:
    association = ctx.profile.association
    if not association.foreign_key_field:
        return None
    value = association.foreign_key(ctx.message.subject) or association.foreign_key(ctx.draft.body)
    if not value:
        return None
    project = ctx.decisions.mapping.project_key if ctx.decisions.mapping else None
    issue = ctx.tracker.find_issue_by_foreign_key(association.foreign_key_field, value, project)
    return (issue, f"foreign key {association.foreign_key_field}={value}") if issue else None


def _by_subject_key(ctx: Context) -> Found:
    for key in ctx.profile.association.subject_issue_keys(ctx.message.subject):
        issue = ctx.tracker.find_issue(key)
        if issue is not None:
            return issue, f"issue key {issue.key} in the subject"
    return None


def _by_own_ids(ctx: Context) -> Found:
    instance_id = ctx.mail.instance_id
    for address in ctx.mail.facts.recipients:
        token = parse_reply_address(address)
        if token and token.instance_id == instance_id:
            issue = ctx.tracker.find_issue(token.issue_key)
            if issue is not None:
                return issue, f"reply address token for {issue.key}"
            _missing(ctx, token.issue_key)
    for message_id in (ctx.message.in_reply_to, *reversed(ctx.message.references)):
        ours = parse_our_message_id(message_id) if message_id else None
        if ours and ours[0] == instance_id:
            issue = ctx.tracker.find_issue(ours[1])
            if issue is not None:
                return issue, f"reply to our notification about {issue.key}"
            _missing(ctx, ours[1])
    return None


# The Message-IDs a reply's thread headers are matched by: In-Reply-To and the most recent References (clients
# trim References to the last dozen or so, RFC 5322 3.6.4; a sender-made list of thousands is cut, not queried).
MAX_THREAD_IDS = 100


def _by_thread_headers(ctx: Context) -> Found:
    association = ctx.profile.association
    ids: list[str] = []
    if association.use_in_reply_to and ctx.message.in_reply_to:
        ids.append(ctx.message.in_reply_to)
    if association.use_references:
        ids.extend(reversed(ctx.message.references))
    if not ids:
        return None
    issue = ctx.tracker.find_issue_by_message_ids(ids[:MAX_THREAD_IDS])
    return (issue, f"In-Reply-To/References match a message of {issue.key}") if issue else None


STRATEGIES: dict[str, Callable[[Context], Found]] = {
    "directive": _by_directive,
    "foreign_key": _by_foreign_key,
    "subject_key": _by_subject_key,
    "own_message_id": _by_own_ids,
    "thread_headers": _by_thread_headers,
}


class Association:
    name = "association"
    description = "Finds the issue a reply belongs to (directive, foreign key, subject key, our ids, threading)."

    def __call__(self, ctx: Context) -> Verdict:
        tried = []
        for strategy in ctx.profile.association.strategies:
            finder = STRATEGIES.get(strategy)
            if finder is None:
                continue
            tried.append(strategy)
            found = finder(ctx)
            if found is not None:
                ctx.decisions.issue, ctx.decisions.association = found
                ctx.decisions.missing_issue_key = ""
                return go_on(self.name, found[1], issue=found[0].key, strategy=strategy)
        note = missing_note(ctx)
        if note:
            return go_on(
                self.name,
                f"no existing issue found: a new issue ({note})",
                tried=tried,
                missing_issue=ctx.decisions.missing_issue_key,
            )
        return go_on(self.name, "no existing issue found: a new issue", tried=tried)
