"""The Celery app. Beat uses django-celery-beat's database scheduler (schedules editable in the admin)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from django import db
from django.conf import settings

from jemh import metrics, stages
from jemh.malloc_arenas import limit_malloc_arenas

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")

app = Celery("jemh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_hijack_root_logger = False  # keep Django's LOGGING (and its PII filter)
app.autodiscover_tasks()
app.autodiscover_tasks(["inbound.pipeline"])  # inbound/pipeline/tasks.py


@signals.celeryd_init.connect(dispatch_uid="jemh.celery.malloc_arenas")
def fewer_malloc_arenas(**kwargs: Any) -> None:
    """Before the worker starts its pool (threads, or processes forked from this one): see jemh.malloc_arenas."""
    limit_malloc_arenas(getattr(settings, "JEMH_MALLOC_ARENAS", 2))


@signals.task_prerun.connect(dispatch_uid="jemh.celery.close_old_connections.prerun")
@signals.task_postrun.connect(dispatch_uid="jemh.celery.close_old_connections.postrun")
def close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Drop database connections that broke or outlived CONN_MAX_AGE, as Django does around each request.

    Celery's Django fix-up reuses a worker's connection across tasks because CELERY_DB_REUSE_MAX is set (a new
    PostgreSQL backend per task costs more than most tasks); this keeps a broken one from being reused."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run in the caller's process (and perhaps inside its transaction): not ours to close
    db.close_old_connections()


@signals.task_postrun.connect(dispatch_uid="jemh.celery.flush_metrics")
def flush_metrics(sender: Any = None, **kwargs: Any) -> None:
    """Add the task's counts to the database (jemh.metrics), after the task and outside its transactions."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run in the caller's process: its request or task flushes
    metrics.flush_quietly()


if stages.ENABLED:  # benchmarks: each pool process writes its stage times after every task (jemh/stages.py)
    signals.task_postrun.connect(stages.dump, dispatch_uid="jemh.celery.stages_dump", weak=False)
