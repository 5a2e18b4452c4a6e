"""Celery tasks of the pipeline: thin wrappers around the processing service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.service import STALE_CLAIM, process_inbound, process_inbound_group

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
GROUP_SIZE = 25  # messages per queued group (= inbound.sources.base.FETCH_CHUNK_MESSAGES)


# ignore_result: the outcome is recorded on the audit row; storing it in the result backend too only costs time
@shared_task(bind=True, name="inbound.process_message", acks_late=True, max_retries=None, ignore_result=True)
def process_message(self, inbound_id: int) -> str | None:  # type: ignore[no-untyped-def]
    outcome = process_inbound(inbound_id)
    if outcome == "failed":
        delay = min(RETRY_BASE_SECONDS * 2 ** min(self.request.retries, 10), RETRY_MAX_SECONDS)
        raise self.retry(countdown=delay)
    return outcome


@shared_task(name="inbound.process_messages", acks_late=True, ignore_result=True)
def process_messages(inbound_ids: list[int]) -> None:
    """Process a group of captured messages (queued together by capture); a message that fails for a temporary
    reason is retried on its own with back-off. Safe to run twice: finished messages are skipped."""
    process_group(inbound_ids)


def process_group(inbound_ids: list[int]) -> None:
    for inbound_id, outcome in process_inbound_group(inbound_ids).items():
        if outcome == "failed":
            process_message.apply_async((inbound_id,), countdown=RETRY_BASE_SECONDS)


@shared_task(name="inbound.resume_processing")
def resume_processing(limit: int = 500) -> int:
    """Re-queue messages that wait too long: captured but never queued (broker down), claimed by a worker that
    died, or failed and due again. Scheduled every minute by beat; safe because processing is idempotent."""
    now = timezone.now()
    waiting = InboundMessage.objects.filter(
        Q(status=InboundStatus.RECEIVED, updated_at__lt=now - timedelta(minutes=2))
        | Q(status=InboundStatus.PROCESSING, updated_at__lt=now - STALE_CLAIM)
        | Q(status=InboundStatus.FAILED, updated_at__lt=now - timedelta(minutes=15))
    ).values_list("pk", flat=True)[:limit]
    ids = list(waiting)
    for start in range(0, len(ids), GROUP_SIZE):
        process_messages.delay(ids[start : start + GROUP_SIZE])
    return len(ids)
