"""What changed on an issue, and the event that says so.

Events are sent inside the transaction of the change (see :mod:`trackers.signals`): every caller of
:func:`emit` holds a transaction that also holds the change.

A snapshot is a plain dict of everything about an issue a person would call a field; two snapshots
compared give the :class:`~trackers.signals.FieldChange` list of an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from trackers.models import Issue
from trackers.signals import EventKind, FieldChange, IssueEventData, send_issue_event
from trackers.workflow import DONE_STATUSES

TRACKED_FIELDS = (
    "summary",
    "description",
    "issue_type",
    "priority",
    "status",
    "resolution",
    "resolved_at",
    "reporter",
    "assignee",
    "labels",
    "watchers",
    "email_sender_address",
    "email_sender_name",
    "email_participants",
)


@dataclass(frozen=True)
class ChangeContext:
    """Who made a change, and through what."""

    actor_user_id: int | None = None
    actor_email: str | None = None
    via: str = "api"
    source_message_id: int | None = None
    actor_automated: bool = False  # the change comes from automated mail
    acknowledge_to: str = ""  # where an acknowledgement may go (trackers.interface.Actor.acknowledge_to)


SYSTEM = ChangeContext()


def _username(user: Any) -> str | None:
    return None if user is None else user.get_username()


def snapshot(issue: Issue, *, with_watchers: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {
        "summary": issue.summary,
        "description": issue.description,
        "issue_type": str(issue.issue_type),
        "priority": str(issue.priority),
        "status": str(issue.status),
        "resolution": str(issue.resolution),
        "resolved_at": issue.resolved_at,
        "reporter": _username(issue.reporter) if issue.reporter_id else None,
        "assignee": _username(issue.assignee) if issue.assignee_id else None,
        "labels": list(issue.labels or []),
        "email_sender_address": issue.email_sender_address or "",
        "email_sender_name": issue.email_sender_name or "",
        "email_participants": list(issue.email_participants or []),
    }
    if with_watchers and issue.pk:
        values["watchers"] = sorted(u.get_username() for u in issue.watchers.all())
    for name, value in (issue.custom_fields or {}).items():
        values[f"custom_fields.{name}"] = value
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    names = [n for n in TRACKED_FIELDS if n in before or n in after]
    names += sorted(n for n in {*before, *after} if n.startswith("custom_fields."))
    return tuple(FieldChange(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n))


def kind_of(changes: tuple[FieldChange, ...]) -> str:
    status = next((c for c in changes if c.field == "status"), None)
    if status is not None and status.new in DONE_STATUSES and status.old not in DONE_STATUSES:
        return EventKind.RESOLVED
    return EventKind.UPDATED


def emit(
    issue: Issue,
    kind: str,
    ctx: ChangeContext,
    *,
    changes: tuple[FieldChange, ...] = (),
    comment_id: int | None = None,
    attachment_ids: tuple[int, ...] = (),
) -> None:
    send_issue_event(
        IssueEventData(
            instance_id=issue.instance_id,
            kind=kind,
            issue_key=issue.key,
            project_key=issue.project.key,
            occurred_at=timezone.now(),
            issue_id=issue.pk if kind != EventKind.DELETED else None,
            actor_user_id=ctx.actor_user_id,
            actor_email=ctx.actor_email,
            comment_id=comment_id,
            attachment_ids=attachment_ids,
            changes=changes,
            via=ctx.via,
            source_message_id=ctx.source_message_id,
            actor_automated=ctx.actor_automated,
            acknowledge_to=ctx.acknowledge_to,
        )
    )


def emit_changes(issue: Issue, before: dict[str, Any], ctx: ChangeContext) -> tuple[FieldChange, ...]:
    """Emit an updated/resolved event for what changed since ``before``; nothing when nothing did."""
    changes = diff(before, snapshot(issue))
    if changes:
        emit(issue, kind_of(changes), ctx, changes=changes)
    return changes
