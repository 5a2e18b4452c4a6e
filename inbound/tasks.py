"""Celery tasks of inbound mail, and each source's beat schedule (django-celery-beat)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from celery import shared_task
from django.db import models, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from inbound.retrieval import poll

if TYPE_CHECKING:
    from inbound.models import Source
    from jemh.tenancy import InstanceIds

POLL_TASK = "inbound.poll_source"


def schedule_name(source_id: int) -> str:
    return f"{POLL_TASK}:{source_id}"


@shared_task(name=POLL_TASK, ignore_result=True)
def poll_source(source_id: int, force: bool = False) -> dict[str, object]:
    """Poll one source (idempotent: a second run finds nothing new, and never runs beside another)."""
    result = poll(source_id, force=force)
    if result.status == "ok" and result.more_pending:
        poll_source.apply_async((source_id,), countdown=1)  # the batch limit left mail: carry on soon
    return result.as_dict()


def sync_schedule(source: Source) -> None:
    """Create or update the source's periodic poll (enabled only for an enabled, polled source)."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=source.poll_interval,
        period=IntervalSchedule.SECONDS,
    )
    with transaction.atomic():
        PeriodicTask.objects.update_or_create(
            name=schedule_name(source.pk),
            defaults={
                "task": POLL_TASK,
                "interval": interval,
                "args": json.dumps([source.pk]),
                "enabled": bool(source.enabled and source.is_polled),
                "description": f"Poll mail source {source}",
            },
        )


def remove_schedule(source_id: int) -> None:
    PeriodicTask.objects.filter(name=schedule_name(source_id)).delete()


def poll_tasks_of(queryset: QuerySet[PeriodicTask], ids: InstanceIds) -> QuerySet[PeriodicTask]:
    """The scope of periodic tasks: the site's own (purge, heartbeat...) and the poll tasks of the instances'
    sources; another instance's poll task (it names its source) is not theirs."""
    from inbound.models import Source  # not at the top: the models import this module's callers

    names = Source.objects.filter(instance__in=ids).annotate(
        # schedule_name(pk), in SQL
        task_name=Concat(Value(schedule_name(0).removesuffix("0")), Cast("pk", output_field=models.CharField()))
    )
    return queryset.filter(~Q(task=POLL_TASK) | Q(name__in=names.values("task_name")))
