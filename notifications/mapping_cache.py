"""What the event intake needs to know of an instance, cached per process: its enabled notification mappings and
its event retention.

:func:`notifications.intake.record_event` runs for every issue event, most of which no mapping wants (their
payload is dropped at once). Reading the mappings and the instance for each would double or triple the queries of
the common case, so a snapshot is reused while it is provably current enough:

- any save or delete of a notification mapping or an instance in *this* process drops every snapshot at once
  (signals), so an admin's change is seen by the next event recorded by the same process;
- a snapshot is never older than :data:`CACHE_SECONDS`, which bounds how long another process (a worker, the mail
  processing) can go on with the previous configuration: a mapping added in the admin takes effect everywhere
  within that time. Changes that bypass signals (``QuerySet.update``) are covered by the same bound.

The flush (``notifications.batching``) reads the mappings afresh for every batch; only the intake's decision
"does any mapping want this event, and with which window" uses the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jemh.models import Instance
from jemh.process_cache import ProcessCache
from notifications.models import NotificationMapping

CACHE_SECONDS = 1.0
_snapshots: ProcessCache[int, InstanceMappings] = ProcessCache(CACHE_SECONDS)


class UnknownInstance(LookupError):
    """No instance has the id given."""


@dataclass(frozen=True)
class InstanceMappings:
    """An instance's enabled mappings (oldest first; shared between callers: read only) and event retention."""

    mappings: tuple[NotificationMapping, ...]
    event_retention_days: int

    def wanting(self, project_key: str, kind: str) -> list[NotificationMapping]:
        return [m for m in self.mappings if m.wants(project_key, kind)]


def current_mappings(instance_id: int) -> InstanceMappings:
    """The instance's snapshot: from this process's cache while younger than CACHE_SECONDS and no mapping or
    instance was saved or deleted here since; else loaded (two small queries). Raises UnknownInstance."""
    return _snapshots.get(instance_id, _load)


def _load(instance_id: int) -> InstanceMappings:
    retention = Instance.objects.filter(pk=instance_id).values_list("event_retention_days", flat=True).first()
    if retention is None:
        raise UnknownInstance(f"no instance with id {instance_id}")
    mappings = tuple(NotificationMapping.objects.filter(instance_id=instance_id, enabled=True).order_by("id"))
    return InstanceMappings(mappings, retention)


def forget_cached_mappings(**kwargs: Any) -> None:
    """Drop every snapshot (connected by NotificationsConfig.ready to saves and deletes of mappings and
    instances)."""
    _snapshots.clear()
