"""Core tasks."""

from __future__ import annotations

from celery import shared_task

from jemh.models import Instance


@shared_task(name="jemh.instance_summary")
def instance_summary(instance_id: int) -> dict[str, object]:
    """Read an instance in the worker: proves the worker reaches the database through the broker."""
    instance = Instance.objects.get(pk=instance_id)
    return {"id": instance.pk, "name": instance.name, "tracker_kind": instance.tracker_kind}
