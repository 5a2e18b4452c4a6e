"""Celery tasks of the read side: the hourly retention purge, and recording support flags that expired (every 10
minutes)."""

from __future__ import annotations

from celery import shared_task

from auditing.flags import record_expiries
from auditing.retention import purge as run_purge

EXPIRE_FLAGS_TASK = "auditing.expire_support_flags"


@shared_task(name="auditing.purge", ignore_result=True)
def purge() -> dict[str, dict[str, int]]:
    """The hourly retention purge (see auditing.retention)."""
    return {name: dict(counts) for name, counts in run_purge().items()}


@shared_task(name=EXPIRE_FLAGS_TASK, ignore_result=True)
def expire_support_flags() -> int:
    """Record expired support flags and delete their snapshots (idempotent). Access ended at the date anyway."""
    return record_expiries()
