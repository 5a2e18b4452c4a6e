"""Celery tasks of the read side: recording support flags that expired (beat runs it every 10 minutes)."""

from __future__ import annotations

from celery import shared_task

from auditing.flags import record_expiries

EXPIRE_FLAGS_TASK = "auditing.expire_support_flags"


@shared_task(name=EXPIRE_FLAGS_TASK, ignore_result=True)
def expire_support_flags() -> int:
    """Record expired support flags and delete their snapshots (idempotent). Access ended at the date anyway."""
    return record_expiries()
