"""Registering periodic tasks with django-celery-beat from data migrations (editable in the admin afterwards)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# (name shown in the admin, task name, every, period such as "minutes" or "hours")
PeriodicTaskSpec = tuple[str, str, int, str]
MigrationFunction = Callable[[Any, Any], None]


def schedule_operations(tasks: Sequence[PeriodicTaskSpec]) -> tuple[MigrationFunction, MigrationFunction]:
    """The (forward, backward) functions of a RunPython that registers ``tasks`` once and removes them."""

    def register(apps: Any, schema_editor: Any) -> None:
        interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
        task_model = apps.get_model("django_celery_beat", "PeriodicTask")
        for name, task, every, period in tasks:
            schedule, _ = interval_model.objects.get_or_create(every=every, period=period)
            task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": schedule})

    def unregister(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
            name__in=[name for name, *_ in tasks]
        ).delete()

    return register, unregister
