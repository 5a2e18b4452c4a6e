"""Celery tasks of the read side."""

from __future__ import annotations

from celery import shared_task

from auditing.retention import purge as run_purge


@shared_task(name="auditing.purge", ignore_result=True)
def purge() -> dict[str, dict[str, int]]:
    """The hourly retention purge (see auditing.retention)."""
    return {name: dict(counts) for name, counts in run_purge().items()}
