"""Turning due events into one mail per recipient and issue: claim, compose, save, and hand over for sending.

Two ways in, one way through:

- :func:`flush_issue` takes one issue's due events (the task scheduled at the end of a batch window, the sweeper);
- :func:`flush_due` takes the longest-waiting due events of *any* issues, a chunk at a time (the debounced
  wake-up of events with no window, see :func:`notifications.tasks.request_flush`), and says whether more are due.

The claim locks the events it reads (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never
wait for nor take each other's events) and moves them from ``pending`` to ``processing`` under a fresh batch token
with a conditional UPDATE, which is the guard on databases without row locks (SQLite). Everything after the claim
happens in the same transaction: a crash rolls the claim back and the next flush (or the sweeper) does the work
again. Each (event, recipient) pair becomes a :class:`NotificationDelivery` row with a unique constraint, the final
guard against sending anything twice. The rows of the whole flush are saved with one INSERT per table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jemh.storage import discard_blobs
from notifications.choices import EventStatus
from notifications.composing import FlushContext, IssueOutcome, IssueRef, Mail, compose_issue, remember_message_ids
from notifications.models import IssueEvent, NotificationDelivery, OutboundMessage
from notifications.sending import PreparedMail

log = logging.getLogger(__name__)
CHUNK_EVENTS = 50  # flush_due: the issues of this many longest-waiting due events per flush


@dataclass
class FlushResult:
    events: int = 0
    outbound_ids: list[int] = field(default_factory=list)
    prepared: dict[int, PreparedMail] = field(default_factory=dict)  # the queued messages, still in memory
    more: bool = False  # flush_due: further due events were left for another flush


def _temporary(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) or bool(getattr(exc, "retryable", False))


def _locking(queryset: QuerySet[IssueEvent]) -> QuerySet[IssueEvent]:
    """Lock the rows read, skipping rows another flush holds (ignored where there are no row locks)."""
    return queryset.select_for_update(skip_locked=True, of=("self",))


def flush_issue(instance_id: int, issue_key: str, *, now: datetime | None = None) -> FlushResult:
    """Notify about every event of the issue whose window has ended; a no-op when there is none.

    Returns the ids of the OutboundMessages queued (committed); the caller sends them (the flush task does so at
    once over one SMTP connection, see :func:`notifications.sending.send_many`); the sweeper sends any left.

    Temporary problems (database, tracker busy) are raised so the caller retries; anything else marks the
    claimed events ``failed`` with the reason.
    """
    now = now or timezone.now()
    due = IssueEvent.objects.filter(
        instance_id=instance_id, issue_key=issue_key, status=EventStatus.PENDING, due_at__lte=now
    )
    if not due.exists():  # the common no-op (another flush took the batch): one query, no transaction
        return FlushResult()
    return _flush(lambda: (list(_locking(due.select_related("instance"))), False))


def flush_due(
    *, now: datetime | None = None, limit: int = CHUNK_EVENTS, on_more: Callable[[], object] | None = None
) -> FlushResult:
    """Notify about the due events of the issues of the ``limit`` longest-waiting due events (each issue's due
    events together, as far as no other flush holds them); ``more`` tells whether further due events wait.

    ``on_more`` is called as soon as the claim shows that more are due (before composing), e.g. to queue the next
    flush for another worker: it skips the events this one holds."""
    now = now or timezone.now()
    due = IssueEvent.objects.filter(status=EventStatus.PENDING, due_at__lte=now)

    def claimable() -> tuple[list[IssueEvent], bool]:
        # Lock only what this flush will claim: a row locked and left alone would be skipped by the flushes
        # running meanwhile and could wait for the sweeper once this one ends.
        first = list(_locking(due.order_by("due_at", "id")).values_list("instance_id", "issue_key")[:limit])
        if not first:
            return [], False
        keys: dict[int, set[str]] = {}
        for instance_id, issue_key in first:
            keys.setdefault(instance_id, set()).add(issue_key)
        issues = Q()
        for instance_id, issue_keys in keys.items():
            issues |= Q(instance_id=instance_id, issue_key__in=sorted(issue_keys))
        events = list(_locking(due.filter(issues).select_related("instance")))
        # Anything else due is either free (a successor takes it) or held by a running flush (which handles it).
        more = len(first) == limit and due.exclude(pk__in=[e.pk for e in events]).exists()
        if more and on_more is not None:
            on_more()
        return events, more

    return _flush(claimable)


def _flush(claimable: Callable[[], tuple[list[IssueEvent], bool]]) -> FlushResult:
    token = uuid.uuid4()
    saved_blobs: list[str] = []
    claimed_pks: list[int] = []
    try:
        with transaction.atomic():
            events, more = claimable()
            if not events:
                return FlushResult()
            pks = [e.pk for e in events]
            claimed = IssueEvent.objects.filter(pk__in=pks, status=EventStatus.PENDING).update(
                status=EventStatus.PROCESSING, batch_token=token
            )
            if claimed < len(events):  # another flush took some meanwhile (no row locks: SQLite)
                mine = set(IssueEvent.objects.filter(pk__in=pks, batch_token=token).values_list("pk", flat=True))
                events = [e for e in events if e.pk in mine]
            claimed_pks = [e.pk for e in events]
            if not events:
                return FlushResult(more=more)
            events.sort(key=lambda e: (e.occurred_at, e.pk))
            prepared = _notify(events, saved_blobs)
            return FlushResult(len(events), list(prepared), prepared, more)
    except Exception as exc:
        discard_blobs(saved_blobs, "unrecorded outbound message")
        if _temporary(exc):
            raise
        log.exception("notifications of %s event(s) failed", len(claimed_pks))
        IssueEvent.objects.filter(pk__in=claimed_pks, status=EventStatus.PENDING).update(
            status=EventStatus.FAILED, processed_at=timezone.now(), reason=_failure_reason(exc)
        )
        return FlushResult()


def _failure_reason(exc: BaseException) -> str:
    return (
        f"Could not prepare notifications ({type(exc).__name__}: {exc}). Fix the cause (e.g. the mapping's "
        "templates) and re-run the event from the admin."
    )


def _notify(events: list[IssueEvent], saved_blobs: list[str]) -> dict[int, PreparedMail]:
    """Compose every claimed issue's mails, save them and the events' outcomes; the messages queued, by row id.

    An issue whose mails cannot be composed for a lasting reason (a broken template) fails alone, with the reason;
    a temporary problem is raised and rolls the whole flush back."""
    ctx = FlushContext(events)
    groups: dict[IssueRef, list[IssueEvent]] = {}
    for e in events:
        groups.setdefault((e.instance_id, e.issue_key), []).append(e)
    outcomes: dict[IssueRef, IssueOutcome] = {}
    failed: dict[int, str] = {}
    for ref, issue_events in groups.items():
        blobs: list[str] = []
        try:
            outcomes[ref] = compose_issue(issue_events, ctx, blobs)
        except Exception as exc:
            discard_blobs(blobs, "unrecorded outbound message")
            if _temporary(exc):
                raise
            log.exception("notifications for %s failed", ref[1])
            failed.update({e.pk: _failure_reason(exc) for e in issue_events})
        saved_blobs.extend(blobs)
    mails = [m for outcome in outcomes.values() for m in outcome.mails]
    _save(mails)
    remember_message_ids(ctx, outcomes)
    now = timezone.now()
    for e in events:
        outcome = outcomes.get((e.instance_id, e.issue_key))
        if outcome is None:
            e.status, e.reason = EventStatus.FAILED, failed[e.pk]
        elif outcome.recipients_of[e.pk]:
            details = ", ".join(f"{n} {why}" for why, n in sorted(outcome.skipped_why[e.pk].items()))
            e.status = EventStatus.NOTIFIED
            e.reason = f"Notification queued for {outcome.recipients_of[e.pk]} recipient(s)" + (
                f" (skipped: {details})." if details else "."
            )
        else:
            details = ", ".join(f"{n} {why}" for why, n in sorted(outcome.skipped_why[e.pk].items()))
            e.status = EventStatus.IGNORED
            e.reason = "Nobody to notify" + (f" ({details})." if details else ": the audience is empty.")
        e.processed_at = now
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for e in events:  # one UPDATE per distinct outcome (a few per flush)
        by_outcome.setdefault((e.status, e.reason), []).append(e.pk)
    for (status, reason), pks in by_outcome.items():
        IssueEvent.objects.filter(pk__in=pks).update(status=status, reason=reason, processed_at=now)
    return {m.outbound.pk: m.mail for m in mails}


def _save(mails: list[Mail]) -> None:
    """The flush's OutboundMessage rows and their (event, recipient) delivery records, in two INSERTs."""
    if not mails:
        return
    rows = [m.outbound for m in mails]
    if connection.features.can_return_rows_from_bulk_insert:
        OutboundMessage.objects.bulk_create(rows)
    else:
        for row in rows:
            row.save()
    NotificationDelivery.objects.bulk_create(
        [
            NotificationDelivery(event=e, outbound=m.outbound, recipient_hash=m.outbound.recipient_hash)
            for m in mails
            for e in m.events
        ]
    )
