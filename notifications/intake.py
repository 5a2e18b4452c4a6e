"""Event intake: every issue event (local tracker signal, later a Jira webhook) enters through :func:`record_event`.

``record_event`` stores the event encrypted and, when no enabled notification mapping wants its project and
kind, drops the payload at once and keeps only the fact (status ``dropped`` and the reason). Otherwise the
event joins its issue's open batch, or opens one and schedules a flush for the window's end; with a window of 0 it
is due at once and a (debounced) wake-up flushes it together with every other due event.

Payload shape (every key optional)::

    {"changes": [{"field": "status", "old": "Open", "new": "Resolved"}, ...],
     "comment_id": "12",                      # the tracker's comment id (read at flush time)
     "comment": {"body": "...", "author_name": "...", "author_email": "..."},  # a snapshot (Jira sends one)
     "attachment_ids": ["3", "4"],
     "issue": {...IssueView.to_snapshot()...},  # used when the issue can no longer be read (deleted)
     "via": "api" | "admin" | "webhook", "source_message_id": 123}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from jemh.rows import insert_row
from notifications import tasks  # called as tasks.X: tests replace the tasks on the module
from notifications.choices import EventKind, EventSource, EventStatus
from notifications.mapping_cache import UnknownInstance, current_mappings
from notifications.models import IssueEvent, NotificationMapping

log = logging.getLogger(__name__)


class InvalidEvent(ValueError):
    """The event cannot be recorded as given; the message says what is wrong."""


def default_window() -> int:
    return int(getattr(settings, "JEMH_NOTIFICATION_BATCH_WINDOW", 60))


def wanting_mappings(instance_id: int, project_key: str, kind: str) -> list[NotificationMapping]:
    """The enabled mappings of the instance that want ``kind`` events of ``project_key`` (from the per-process
    snapshot, see :mod:`notifications.mapping_cache`; read only). Raises UnknownInstance."""
    return current_mappings(instance_id).wanting(project_key, kind)


def record_event(
    *,
    instance_id: int,
    kind: str,
    issue_key: str,
    project_key: str | None = None,
    actor: Mapping[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    source: str = EventSource.LOCAL,
    external_id: str | None = None,
) -> IssueEvent:
    """Store one issue event; return it (the existing one when ``external_id`` was seen before).

    ``actor`` is ``{"account_id", "email", "name"}`` (any may be missing or None). Raises InvalidEvent for a
    kind, issue key or instance that makes no sense.

    An event no mapping wants costs one INSERT (the mappings come from a per-process snapshot). A wanted event
    costs one INSERT too when its window is 0 (it is due at once; a debounced wake-up flushes every due event,
    see :func:`notifications.tasks.request_flush`); with a window it joins its issue's open batch or opens one
    and schedules the batch's flush.
    """
    if kind not in EventKind.values:
        raise InvalidEvent(f"unknown event kind {kind!r}; expected one of {', '.join(EventKind.values)}")
    issue_key = (issue_key or "").strip().upper()
    if "-" not in issue_key:
        raise InvalidEvent(f"{issue_key!r} is not an issue key (expected e.g. ABC-123)")
    project_key = _project_of(issue_key, project_key)
    now = timezone.now()
    if external_id:
        existing = IssueEvent.objects.filter(instance_id=instance_id, source=source, external_id=external_id).first()
        if existing:
            return existing
    try:
        known = current_mappings(instance_id)
    except UnknownInstance as exc:
        raise InvalidEvent(f"{exc}; events belong to an existing instance") from None
    mappings = known.wanting(project_key, kind)
    event = IssueEvent(
        instance_id=instance_id,
        source=source,
        external_id=external_id or None,
        kind=kind,
        issue_key=issue_key,
        project_key=project_key,
        occurred_at=occurred_at or now,
        received_at=now,
        expires_at=now + timedelta(days=known.event_retention_days),
    )
    opens_batch = False
    if not mappings:
        event.status = EventStatus.DROPPED
        event.reason = f"No enabled notification mapping wants {kind} events of project {project_key}: payload dropped."
        event.processed_at = now
        event.due_at = now
    else:
        window = min(
            (m.batch_window_seconds if m.batch_window_seconds is not None else default_window()) for m in mappings
        )
        event.actor = _clean_actor(actor)
        event.payload = dict(payload or {})
        if window <= 0:
            event.due_at = now
        else:
            open_batch = _open_batch_due_at(instance_id, issue_key, now)
            opens_batch = open_batch is None
            event.due_at = open_batch or now + timedelta(seconds=window)
    if external_id:
        try:
            with transaction.atomic():  # a savepoint inside the caller's transaction: a duplicate breaks nothing
                insert_row(event)  # expires_at is set above (what IssueEvent.save would do)
        except IntegrityError:
            existing = IssueEvent.objects.filter(
                instance_id=instance_id, source=source, external_id=external_id
            ).first()
            if existing is None:
                raise
            return existing
    else:
        insert_row(event)
    if mappings:
        # robust: with the broker down the event is still recorded, and the sweeper flushes it later
        if event.due_at <= now:
            transaction.on_commit(tasks.request_flush, robust=True)
        elif opens_batch:  # an event joining an open batch is flushed by the task its opener scheduled
            transaction.on_commit(lambda: tasks.schedule_flush(instance_id, issue_key, event.due_at), robust=True)
        else:  # unless its transaction (the change's) commits after that flush ran: then it asks for one itself
            transaction.on_commit(lambda: _flush_if_overdue(event.due_at), robust=True)
    log.info("issue event %s %s recorded: %s", kind, issue_key, event.status)
    return event


def _flush_if_overdue(due_at: datetime) -> None:
    """Ask for a flush of due events when ``due_at`` has passed (a joining event committed after its batch's end)."""
    if timezone.now() >= due_at:
        tasks.request_flush()


def _project_of(issue_key: str, project_key: str | None) -> str:
    return (project_key or (issue_key or "").strip().upper().rsplit("-", 1)[0]).strip().upper()


JOIN_MARGIN = timedelta(seconds=1)


def _open_batch_due_at(instance_id: int, issue_key: str, now: datetime) -> datetime | None:
    """The end of the issue's open batch (one whose window ends later than a moment from now), or None.

    An event joins an open batch; otherwise it opens a new one and schedules its flush. The margin makes sure a
    joining event is committed well before the flush that claims it runs (the sweeper catches any straggler).
    """
    return (
        IssueEvent.objects.filter(
            instance_id=instance_id,
            issue_key=issue_key,
            status=EventStatus.PENDING,
            due_at__gt=now + JOIN_MARGIN,
        )
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def _clean_actor(actor: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not actor:
        return None
    cleaned = {k: str(actor.get(k) or "") for k in ("account_id", "email", "name")}
    return cleaned if any(cleaned.values()) else None


# -- local tracker signal -----------------------------------------------------------------------------------------


def _local_actor(event: Any) -> dict[str, str] | None:
    user_id = getattr(event, "actor_user_id", None)
    if user_id:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is not None:
            return {
                "account_id": user.get_username(),
                "email": user.email or "",
                "name": user.get_full_name() or user.get_username(),
            }
    email = getattr(event, "actor_email", None)
    return {"account_id": "", "email": email, "name": ""} if email else None


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a change's value (tuples → lists, dates → ISO, objects → str)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record_local_event(event: Any) -> IssueEvent:
    """Turn a ``trackers.signals.IssueEventData`` into :func:`record_event`."""
    payload: dict[str, Any] = {
        "changes": [{"field": c.field, "old": _plain(c.old), "new": _plain(c.new)} for c in event.changes],
        "via": getattr(event, "via", "api"),
    }
    if getattr(event, "comment_id", None) is not None:
        payload["comment_id"] = str(event.comment_id)
    if getattr(event, "attachment_ids", ()):
        payload["attachment_ids"] = [str(a) for a in event.attachment_ids]
    if getattr(event, "source_message_id", None) is not None:
        payload["source_message_id"] = event.source_message_id
    if getattr(event, "actor_automated", False):
        payload["automated_mail"] = True
    if getattr(event, "acknowledge_to", ""):
        payload["acknowledge_to"] = event.acknowledge_to
    project_key = getattr(event, "project_key", None)
    try:  # the actor costs a user look-up: only for an event some mapping wants (record_event checks again)
        wanted = bool(wanting_mappings(event.instance_id, _project_of(event.issue_key, project_key), event.kind))
    except UnknownInstance:
        wanted = False
    return record_event(
        instance_id=event.instance_id,
        kind=event.kind,
        issue_key=event.issue_key,
        project_key=project_key,
        actor=_local_actor(event) if wanted else None,
        payload=payload,
        occurred_at=getattr(event, "occurred_at", None),
        source=EventSource.LOCAL,
    )


def on_local_issue_event(sender: Any, event: Any = None, **kwargs: Any) -> None:
    """Receiver of ``trackers.signals.issue_event_in_transaction`` (connected in NotificationsConfig.ready): the event
    is recorded inside the transaction that makes the change, so both commit or neither does; the flush it asks for
    is queued only on commit.

    Database trouble propagates: it rolls the change back with the event, and the caller (mail processing, under
    its idempotency key) retries both. An InvalidEvent (raised before anything is written) is logged and the change
    goes on without it: such an event could never be recorded, and refusing the change for it would block the issue
    for good.
    """
    if event is None:
        log.error("trackers.signals.issue_event_in_transaction sent without an event; nothing recorded")
        return
    try:
        record_local_event(event)
    except InvalidEvent as exc:
        log.error("issue event not recorded: %s", exc)


# -- Jira webhook bodies (older helper; the endpoint reads bodies with notifications.webhooks.events) -------------

JIRA_KINDS = {
    "jira:issue_created": EventKind.CREATED,
    "jira:issue_updated": EventKind.UPDATED,
    "jira:issue_deleted": EventKind.DELETED,
    "comment_created": EventKind.COMMENTED,
}


def jira_event_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`record_event` for a Jira webhook body (minus instance_id).

    An update whose changelog moves the resolution from empty to set is a ``resolved`` event, as JEMHC infers
    the kind of change from the fields changed.
    """
    name = str(body.get("webhookEvent") or "")
    kind = JIRA_KINDS.get(name)
    if kind is None:
        raise InvalidEvent(f"unsupported Jira webhook event {name!r}")
    issue = body.get("issue") or {}
    fields = issue.get("fields") or {}
    changes = [
        {"field": i.get("field"), "old": i.get("fromString"), "new": i.get("toString")}
        for i in (body.get("changelog") or {}).get("items") or []
    ]
    if kind == EventKind.UPDATED and any(c["field"] == "resolution" and c["new"] and not c["old"] for c in changes):
        kind = EventKind.RESOLVED
    user = body.get("user") or {}
    payload: dict[str, Any] = {
        "changes": changes,
        "via": "webhook",
        "issue": {
            "summary": fields.get("summary") or "",
            "status": (fields.get("status") or {}).get("name", ""),
            "priority": (fields.get("priority") or {}).get("name", ""),
            "issue_type": (fields.get("issuetype") or {}).get("name", ""),
            "reporter": _jira_person(fields.get("reporter")),
            "assignee": _jira_person(fields.get("assignee")),
            "project_key": (fields.get("project") or {}).get("key", ""),
        },
    }
    comment = body.get("comment")
    if comment:
        author = comment.get("author") or {}
        payload["comment_id"] = str(comment.get("id") or "")
        payload["comment"] = {
            "body": comment.get("body") or "",
            "author_name": author.get("displayName") or "",
            "author_email": author.get("emailAddress") or "",
        }
    timestamp = body.get("timestamp")
    occurred = datetime.fromtimestamp(timestamp / 1000, tz=UTC) if isinstance(timestamp, int) else None
    return {
        "kind": kind,
        "issue_key": str(issue.get("key") or ""),
        "project_key": payload["issue"]["project_key"] or None,
        "actor": {
            "account_id": user.get("accountId") or "",
            "email": user.get("emailAddress") or "",
            "name": user.get("displayName") or "",
        },
        "payload": payload,
        "occurred_at": occurred,
        "source": EventSource.JIRA,
        "external_id": str(body["id"]) if body.get("id") else None,
    }


def _jira_person(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    return {
        "email": value.get("emailAddress") or "",
        "name": value.get("displayName") or "",
        "account_id": value.get("accountId") or "",
    }
