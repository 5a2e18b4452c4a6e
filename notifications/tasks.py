"""Celery tasks of the notifications: thin wrappers that load by id, call a service and record the result.

- ``notifications.flush_issue`` runs at the end of an issue's batch window (one is scheduled per batch, by the
  event that opens it; the claim in :func:`notifications.batching.flush_issue` makes any extra one a no-op) and
  sends the batch's mail at once over one SMTP connection, from memory.
- ``notifications.flush_due`` flushes the due events of any issues, a chunk at a time, and sends their mail the
  same way; while more are due it queues a successor first, so every worker can take a chunk. Events with no
  batch window wake it through :func:`request_flush` (debounced: one task per process and WAKEUP_DELAY at most).
- ``notifications.send`` sends one OutboundMessage, rescheduling itself with back-off while it must wait.
- ``notifications.send_batch`` sends several over one connection: what waits for an unreachable SMTP server is
  rescheduled as one such task per batch (one connection per back-off, not one per mail).
- ``notifications.sweep`` (beat, every minute) picks up anything whose task was lost: overdue events, sends
  due for a retry, and sends whose worker died mid-way, in batches of SWEEP_BATCH; it sends the mail held by
  an hourly sending limit once its time has come (no task is queued per held mail), and queues the Jira webhook
  deliveries still waiting for ``notifications.jira_webhook``.
- ``notifications.purge`` (beat, hourly) deletes events, outbound rows (and stored mail) and Jira webhook deliveries
  past retention.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import shared_task, signature
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from notifications.batching import flush_due, flush_issue
from notifications.choices import DeliveryStatus, EventStatus, OutboundStatus
from notifications.models import IssueEvent, OutboundMessage, WebhookDelivery
from notifications.retention import purge_expired, purge_expired_deliveries
from notifications.sending import lease_seconds, send_many, send_outbound

log = logging.getLogger(__name__)
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 50  # sends per send_batch task queued by the sweep


WAKEUP_DELAY = 0.2  # seconds from an event with no window to the flush that takes it, at most (plus the queue)
WAKEUP_MARGIN = 0.05  # a wake-up due sooner than this may already be running: it does not count
_wakeup_lock = threading.Lock()
_next_wakeup = 0.0  # time.time() of the latest wake-up this process queued


def schedule_flush(instance_id: int, issue_key: str, due_at: datetime) -> None:
    flush_issue_batch.apply_async((instance_id, issue_key), eta=due_at)


def request_flush() -> None:
    """Make sure a ``flush_due`` runs after now (call it once the due event has been committed).

    A wake-up this process queued for later than a margin from now has not started yet (a task never runs before
    its ETA), so it will see the event: nothing to queue. Otherwise one is queued with an ETA of WAKEUP_DELAY from
    now, which covers every event committed here until shortly before then: one task per WAKEUP_DELAY however
    many events are recorded, instead of one per event. The sweeper stays the safety net for a lost task.
    """
    global _next_wakeup
    now = time.time()
    with _wakeup_lock:
        if _next_wakeup - now > WAKEUP_MARGIN:
            return
        eta = now + WAKEUP_DELAY
        flush_due_events.apply_async(eta=datetime.fromtimestamp(eta, UTC))
        _next_wakeup = eta


def queue_send(outbound_id: int, countdown: int | None = None) -> None:
    if countdown is None:
        send_notification.apply_async((outbound_id,))
    else:
        send_notification.apply_async((outbound_id,), countdown=countdown)


def queue_batch(outbound_ids: list[int], countdown: int | None = None) -> None:
    if countdown is None:
        send_batch.apply_async((outbound_ids,))
    else:
        send_batch.apply_async((outbound_ids,), countdown=countdown)


@shared_task(name="notifications.flush_issue", bind=True, max_retries=None)
def flush_issue_batch(self: Any, instance_id: int, issue_key: str) -> dict[str, Any]:
    try:
        result = flush_issue(instance_id, issue_key)
    except Exception as exc:  # only temporary problems get here (see flush_issue)
        countdown = min(2 * 4**self.request.retries, 900)  # 2 s, 8 s, 32 s, ... 15 min
        log.warning("flushing notifications of %s postponed %ss: %s", issue_key, countdown, type(exc).__name__)
        raise self.retry(exc=exc, countdown=countdown) from exc
    send_and_reschedule(result.outbound_ids, result.prepared)
    return {"events": result.events, "outbound": result.outbound_ids}


@shared_task(name="notifications.flush_due", bind=True, max_retries=None, ignore_result=True)
def flush_due_events(self: Any) -> dict[str, Any]:
    try:
        result = flush_due(on_more=flush_due_events.delay)  # the next chunk goes to another worker at once
    except Exception as exc:  # only temporary problems get here (see flush_due)
        countdown = min(2 * 4**self.request.retries, 900)
        log.warning("flushing due notifications postponed %ss: %s", countdown, type(exc).__name__)
        raise self.retry(exc=exc, countdown=countdown) from exc
    send_and_reschedule(result.outbound_ids, result.prepared)
    return {"events": result.events, "outbound": result.outbound_ids}


def send_and_reschedule(outbound_ids: list[int], prepared: dict[int, Any] | None = None) -> None:
    """Send a flushed batch at once over one connection (``prepared``: the messages still in memory, by id);
    what must wait for a retry becomes a delayed send task, and what waits for an unreachable server one delayed
    batch."""
    if not outbound_ids:
        return
    try:
        results = send_many(outbound_ids, prepared)
    except Exception:  # e.g. the database went away mid-way: the send tasks (or the sweeper) finish the job
        log.exception("sending a batch inline failed; queueing its mails")
        queue_batch(list(outbound_ids))
        return
    reschedule(results)


@shared_task(name="notifications.send_batch", bind=True, max_retries=None)
def send_batch(self: Any, outbound_ids: list[int]) -> dict[str, Any]:
    try:
        results = send_many(outbound_ids)
    except DatabaseError as exc:  # the database is busy or away: the rows are untouched or re-claimable
        raise self.retry(exc=exc, countdown=min(2 * 4**self.request.retries, 900)) from exc
    waiting = reschedule(results)
    return {"sent": sum(r.status == "sent" for r in results.values()), "waiting": waiting}


def reschedule(results: dict[int, Any]) -> int:
    """Queue what must be tried again: each retry as its own delayed send, and what waits for an unreachable
    server as one delayed batch; how many wait for the server."""
    waiting = [pk for pk, result in results.items() if result.outage]
    if waiting:
        queue_batch(waiting, countdown=max(results[pk].retry_in or 0 for pk in waiting))
    for outbound_id, result in results.items():
        if result.retry_in is not None and not result.outage:
            queue_send(outbound_id, countdown=result.retry_in)
    return len(waiting)


@shared_task(name="notifications.send", bind=True, max_retries=None)
def send_notification(self: Any, outbound_id: int) -> dict[str, Any]:
    try:
        result = send_outbound(outbound_id)
    except DatabaseError as exc:  # the database is busy or away: the row is untouched or re-claimable
        raise self.retry(exc=exc, countdown=min(2 * 4**self.request.retries, 900)) from exc
    if result.retry_in is not None:
        queue_send(outbound_id, countdown=result.retry_in)
    return {"status": result.status, "retry_in": result.retry_in}


@shared_task(name="notifications.sweep")
def sweep() -> dict[str, int]:
    now = timezone.now()
    issues = set(
        IssueEvent.objects.filter(status=EventStatus.PENDING, due_at__lt=now - SWEEP_GRACE).values_list(
            "instance_id", "issue_key"
        )
    )
    for instance_id, issue_key in issues:
        flush_issue_batch.delay(instance_id, issue_key)
    stuck = (
        Q(status=OutboundStatus.QUEUED, created_at__lt=now - SWEEP_GRACE)
        | Q(status=OutboundStatus.RETRYING, next_attempt_at__lt=now - SWEEP_GRACE)
        | Q(status=OutboundStatus.SENDING, claimed_at__lt=now - timedelta(seconds=lease_seconds()))
        | Q(status=OutboundStatus.HELD, next_attempt_at__lte=now)  # held by an hourly limit: its time has come
    )
    deliveries = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED, received_at__lt=now - SWEEP_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for delivery_id in deliveries:  # by name: notifications.webhooks imports this module (through the intake)
        signature("notifications.jira_webhook", args=(delivery_id,)).apply_async()
    sends = list(OutboundMessage.objects.filter(stuck).order_by("pk").values_list("pk", flat=True)[:1000])
    for start in range(0, len(sends), SWEEP_BATCH):
        queue_batch(sends[start : start + SWEEP_BATCH])
    return {"issues": len(issues), "sends": len(sends), "webhook_deliveries": len(deliveries)}


@shared_task(name="notifications.purge")
def purge() -> dict[str, int]:
    return {**purge_expired(), "webhook_deliveries": purge_expired_deliveries()}
