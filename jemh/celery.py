"""The Celery app. Beat uses django-celery-beat's database scheduler (schedules editable in the admin)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")

app = Celery("jemh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_hijack_root_logger = False  # keep Django's LOGGING (and its PII filter)
app.autodiscover_tasks()
app.autodiscover_tasks(["inbound.pipeline"])  # inbound/pipeline/tasks.py
