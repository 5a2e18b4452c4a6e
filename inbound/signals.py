"""Signals of inbound mail.

``messages_captured(sender=InboundMessage, messages=[...])`` is sent once the transaction that recorded new
messages has committed, with the messages of that transaction that still need processing (status
``received``): one signal per committed batch, so a receiver can queue them in groups. The processing pipeline
connects to it.

The receivers below keep each source's Celery beat schedule in step with the source.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

messages_captured = Signal()

SCHEDULE_FIELDS = frozenset({"name", "kind", "enabled", "poll_interval", "instance"})


@receiver(post_save, sender="inbound.Source", dispatch_uid="inbound.source_schedule_saved")
def _source_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and not (set(update_fields) & SCHEDULE_FIELDS):
        return
    from inbound.tasks import sync_schedule

    sync_schedule(instance)


@receiver(post_delete, sender="inbound.Source", dispatch_uid="inbound.source_schedule_deleted")
def _source_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from inbound.tasks import remove_schedule

    remove_schedule(instance.pk)
