"""Retention: issue events and outbound mail (rows and stored messages) are deleted once they expire."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from jemh.storage import blob_storage
from notifications.choices import DeliveryStatus, EventStatus, OutboundStatus
from notifications.models import IssueEvent, OutboundMessage, WebhookDelivery

log = logging.getLogger(__name__)
BATCH = 500


def purge_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete expired events and outbound rows with their stored mail; return how many of each went."""
    now = now or timezone.now()
    events = 0
    while True:
        # an event still waiting to be sent is kept until it is done, even past its expiry
        ids = list(
            IssueEvent.objects.filter(expires_at__lt=now)
            .exclude(status__in=[EventStatus.PENDING, EventStatus.PROCESSING])
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        events += IssueEvent.objects.filter(pk__in=ids).delete()[1].get("notifications.IssueEvent", 0)
    outbound = blobs = 0
    storage = blob_storage()
    while True:
        rows = list(
            OutboundMessage.objects.filter(expires_at__lt=now)
            .exclude(
                status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.RETRYING, OutboundStatus.HELD]
            )
            .values_list("pk", "blob_name")[:BATCH]
        )
        if not rows:
            break
        done = []
        for pk, name in rows:
            try:
                if name:
                    storage.delete(name)
                    blobs += 1
                done.append(pk)
            except Exception:
                log.warning("stored outbound message %s could not be deleted; its row stays for the next purge", name)
        if done:
            outbound += OutboundMessage.objects.filter(pk__in=done).delete()[1].get("notifications.OutboundMessage", 0)
        if len(done) < len(rows):
            break
    if events or outbound:
        log.info("purged %s issue events and %s outbound messages (%s stored messages)", events, outbound, blobs)
    return {"events": events, "outbound": outbound, "blobs": blobs}


def purge_expired_deliveries(now: datetime | None = None) -> int:
    """Delete the rows of expired Jira webhook deliveries (kept as long as events, to refuse a replay); how many."""
    expired = WebhookDelivery.objects.filter(expires_at__lt=now or timezone.now()).exclude(
        status=DeliveryStatus.RECEIVED
    )
    return expired.delete()[1].get("notifications.WebhookDelivery", 0)


def expired_delivery_count(now: datetime | None = None) -> int:
    """How many webhook delivery rows ``purge_expired_deliveries`` would delete now (for a dry run)."""
    expired = WebhookDelivery.objects.filter(expires_at__lt=now or timezone.now())
    return expired.exclude(status=DeliveryStatus.RECEIVED).count()


def expired_counts(now: datetime | None = None) -> dict[str, int]:
    """What ``purge_expired`` would delete now (for a dry run)."""
    now = now or timezone.now()
    events = IssueEvent.objects.filter(expires_at__lt=now).exclude(
        status__in=[EventStatus.PENDING, EventStatus.PROCESSING]
    )
    outbound = OutboundMessage.objects.filter(expires_at__lt=now).exclude(
        status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.RETRYING]
    )
    return {"events": events.count(), "outbound": outbound.count(), "blobs": outbound.exclude(blob_name="").count()}


def referenced_blobs(names: Iterable[str]) -> set[str]:
    """Which of ``names`` an outbound row still names (for the orphan purge)."""
    wanted = list(names)
    return set(OutboundMessage.objects.filter(blob_name__in=wanted).values_list("blob_name", flat=True))
