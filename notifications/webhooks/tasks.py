"""The Celery task of the Jira webhooks: load the delivery by id, turn it into an issue event, retry while Jira is
temporarily unavailable."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import DatabaseError

from notifications.webhooks.processing import process_delivery
from trackers.errors import TemporaryTrackerError

log = logging.getLogger(__name__)


@shared_task(name="notifications.jira_webhook", bind=True, max_retries=None, ignore_result=True)
def process_webhook(self: Any, delivery_id: int) -> str:
    try:
        return process_delivery(delivery_id)
    except (TemporaryTrackerError, DatabaseError) as exc:
        wait = getattr(exc, "retry_after", None)
        countdown = int(wait) + 1 if wait else min(2 * 4**self.request.retries, 900)
        log.warning("Jira webhook delivery %s postponed %ss: %s", delivery_id, countdown, type(exc).__name__)
        raise self.retry(exc=exc, countdown=countdown) from exc
