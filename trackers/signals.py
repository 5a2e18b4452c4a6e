"""Issue events of the local tracker, for the notifications.

Every change to a local issue — made through the Tracker API (mail processing) or in the admin — sends two
signals with the same ``event``, an :class:`IssueEventData`:

- :data:`issue_event_in_transaction`, at once, *inside* the database transaction that makes the change. It is
  for receivers that record the event in the database (the notifications' intake): what they write commits
  with the change or rolls back with it, so a crash can never leave a change without its event (nor an event
  without its change). Such a receiver must only write to the database (anything else — a task queued, a mail
  sent — goes in ``transaction.on_commit``). It is sent with ``send``: a receiver that raises rolls the change
  back and the caller sees the error (the Tracker API turns database trouble into TemporaryTrackerError, which
  mail processing retries under its idempotency key), so an event is never silently lost.
- :data:`issue_event`, once that transaction has committed (never for a change that was rolled back), for
  everything else. A receiver that raises is logged and disturbs neither the others nor the change (it is
  sent with ``send_robust``).

::

    from trackers.signals import issue_event

    @receiver(issue_event)
    def on_issue_event(sender, event: IssueEventData, **kwargs): ...

The payload may hold personal data (e.g. an email-only participant added); store it encrypted. Kinds:

- ``created``: a new issue (``changes`` is empty);
- ``updated``: fields changed, each as a :class:`FieldChange` (old → new); attachments added appear as
  a change of ``attachments`` with ``attachment_ids``; a comment edited as a change of ``comment``;
- ``commented``: a comment was added (``comment_id``);
- ``resolved``: the status moved into Resolved or Closed from an open status (the changes include
  ``status``, ``resolution`` and ``resolved_at``); reopening is an ``updated``;
- ``deleted``: the issue is gone (only the key remains).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from jemh.logging import Pii

log = logging.getLogger(__name__)

issue_event_in_transaction = Signal()  # sent inside the change's transaction, sender="trackers.local", event=...
issue_event = Signal()  # sent after the change's transaction committed, sender="trackers.local", event=...


class EventKind:
    CREATED = "created"
    UPDATED = "updated"
    COMMENTED = "commented"
    RESOLVED = "resolved"
    DELETED = "deleted"

    ALL = (CREATED, UPDATED, COMMENTED, RESOLVED, DELETED)


@dataclass(frozen=True)
class FieldChange:
    field: str  # e.g. "status", "assignee", "labels", "email_participants", "custom_fields.Ticket"
    old: Any
    new: Any


@dataclass(frozen=True)
class IssueEventData:
    instance_id: int
    kind: str  # one of EventKind.ALL
    issue_key: str
    project_key: str
    occurred_at: datetime
    issue_id: int | None = None
    actor_user_id: int | None = None  # the Django user who made the change
    actor_email: str | None = None  # or the email-only person who did (by mail)
    comment_id: int | None = None
    attachment_ids: tuple[int, ...] = ()
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)
    via: str = "api"  # "api" (the Tracker interface, i.e. mail processing) or "admin"
    source_message_id: int | None = None  # the inbound audit id that caused it, if any
    actor_automated: bool = False  # the mail that caused it was automated (auto-reply, bounce, bulk, list)
    acknowledge_to: str = ""  # where an acknowledgement may go (trackers.interface.Actor.acknowledge_to)

    def change(self, name: str) -> FieldChange | None:
        return next((c for c in self.changes if c.field == name), None)

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.changes)


SENDER = "trackers.local"


def send_issue_event(event: IssueEventData) -> None:
    """Send ``event``: now to :data:`issue_event_in_transaction` (inside the caller's transaction, which the change
    that made the event is part of; an exception from a receiver propagates and rolls the change back), and to
    :data:`issue_event` once that transaction commits (at once when there is none)."""
    with transaction.atomic(savepoint=False):  # without a caller's transaction, the receivers' writes are one
        issue_event_in_transaction.send(sender=SENDER, event=event)
    if issue_event.has_listeners(SENDER):
        transaction.on_commit(lambda: _send_after_commit(event))


def _send_after_commit(event: IssueEventData) -> None:
    for receiver, result in issue_event.send_robust(sender=SENDER, event=event):
        if isinstance(result, Exception):
            log.error(
                "issue event receiver %r failed on %s of %s: %s",
                receiver,
                event.kind,
                event.issue_key,
                type(result).__name__,
                exc_info=result,
            )
    log.debug(
        "issue event %s %s by %s", event.kind, event.issue_key, event.actor_user_id or Pii.address(event.actor_email)
    )
