"""Receivers that keep each source's Celery beat schedule in step with the source (connected to the source's
``post_save`` and ``post_delete`` by ``InboundConfig.ready``)."""

from __future__ import annotations

from typing import Any

from inbound.tasks import remove_schedule, sync_schedule

SCHEDULE_FIELDS = frozenset({"name", "kind", "enabled", "poll_interval", "instance"})


def source_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Create or update the source's periodic poll, unless the save wrote none of the fields it depends on."""
    if update_fields is not None and not (set(update_fields) & SCHEDULE_FIELDS):
        return
    sync_schedule(instance)


def source_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Remove the deleted source's periodic poll."""
    remove_schedule(instance.pk)
