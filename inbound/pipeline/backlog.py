"""The backlog: captured mail without a final outcome, and which of it waits for the sweep to queue it again.

A message waits for the sweep when it was captured but apparently never queued (the broker was down), when its
claim's holder is gone (a dead worker), or when it failed and its own retry seems lost. Oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus, WorkerHeartbeat
from inbound.pipeline.claims import STALE_CLAIM, heartbeat_staleness

UNQUEUED_AFTER = timedelta(minutes=2)  # received this long ago and not claimed: its task was lost
FAILED_RETRY_LOST_AFTER = timedelta(minutes=15)
HEARTBEATS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Backlog:
    """Captured messages without a final outcome (received, processing or failed) and the oldest one's age."""

    count: int
    oldest_received_at: datetime | None
    oldest_age_seconds: float | None


def backlog(now: datetime | None = None, instance_ids: QuerySet[Any] | None = None) -> Backlog:
    """The processing backlog (for the dashboard), of the instances ``instance_ids`` (all when None)."""
    now = now or timezone.now()
    unfinished = InboundMessage.objects.filter(
        status__in=(InboundStatus.RECEIVED, InboundStatus.PROCESSING, InboundStatus.FAILED)
    )
    if instance_ids is not None:
        unfinished = unfinished.filter(instance_id__in=instance_ids)
    totals = unfinished.order_by().aggregate(count=Count("pk"), oldest=Min("received_at"))
    oldest = totals["oldest"]
    age = round((now - oldest).total_seconds(), 1) if oldest else None
    return Backlog(count=totals["count"], oldest_received_at=oldest, oldest_age_seconds=age)


def waiting(now: datetime | None = None) -> QuerySet[InboundMessage]:
    """The messages the sweep should queue again, oldest first."""

    now = now or timezone.now()
    beats = WorkerHeartbeat.objects.values("worker")
    stale = beats.filter(beat_at__lt=now - heartbeat_staleness())
    abandoned = Q(claimed_by__in=stale) | (~Q(claimed_by__in=beats) & Q(updated_at__lt=now - STALE_CLAIM))
    return (
        InboundMessage.objects.filter(
            Q(status=InboundStatus.RECEIVED, updated_at__lt=now - UNQUEUED_AFTER)
            | (Q(status=InboundStatus.PROCESSING) & abandoned)
            | Q(status=InboundStatus.FAILED, updated_at__lt=now - FAILED_RETRY_LOST_AFTER)
        )
        .exclude(instance__processing_paused=True)
        .order_by("pk")
    )  # a paused instance's mail waits for its resume


def oldest_waiting(limit: int, now: datetime | None = None) -> list[int]:
    return list(waiting(now).values_list("pk", flat=True)[:limit])


def forget_old_heartbeats(now: datetime | None = None) -> int:

    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEATS_KEPT).delete()[0]
