"""Project package and core app: settings, urls, the Celery app, Instance (the tenant), encryption at
rest and PII-safe logging."""

from jemh.celery import app as celery_app

__all__ = ["celery_app"]
