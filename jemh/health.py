"""Health endpoints for load balancers and container health checks (django-health-check underneath).

``/health/live`` answers as soon as the process serves requests (nothing else is checked), ``/health/ready`` checks
that the database answers, all migrations are applied, the Celery broker accepts a connection and the blob storage
takes, returns and deletes a file. A failing readiness check answers HTTP 503 with every check's result as JSON,
each failure naming the variable to look at. ``/health/`` is an alias of ``/health/ready``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Storage
from health_check.exceptions import ServiceUnavailable


def reason(exc: BaseException) -> str:
    """An exception in one line, without secrets: the type and the first line of its message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


@dataclasses.dataclass
class Database(HealthCheck):
    """The database answers ``SELECT 1`` on a connection of its own."""

    alias: str = "default"

    def run(self) -> None:
        connection = connections[self.alias]
        try:
            with connection.temporary_connection() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            raise ServiceUnavailable(f"database unreachable ({reason(exc)}); check DATABASE_URL") from exc


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration of the installed apps is applied (a new release started before ``migrate`` is not ready)."""

    alias: str = "default"

    def run(self) -> None:
        connection = connections[self.alias]
        try:
            with connection.temporary_connection():
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot read the applied migrations ({reason(exc)})") from exc
        if plan:
            pending = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
            more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
            raise ServiceUnavailable(
                f"{len(plan)} migration(s) not applied ({pending}{more}); run: python manage.py migrate"
            )


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis, or the embedded filesystem broker)."""

    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=3), repr=False)

    def run(self) -> None:
        from jemh.celery import app

        seconds = self.timeout.total_seconds()
        try:
            with app.connection_for_write(app.conf.broker_url, connect_timeout=seconds) as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=int(seconds))
        except Exception as exc:  # kombu raises the transport's own errors (redis, OSError, ...)
            raise ServiceUnavailable(
                f"Celery broker unreachable ({reason(exc)}); check CELERY_BROKER_URL (or REDIS_URL)"
            ) from exc


@dataclasses.dataclass
class BlobStorage(Storage):
    """The encrypted blob storage (filesystem or S3) takes a small file, returns it intact and deletes it."""

    alias: str = "blobs"

    def get_file_name(self) -> str:
        return f"health/probe-{datetime.datetime.now().timestamp():.6f}.txt"

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # botocore, OSError, a wrong key: the storage is not usable
            raise ServiceUnavailable(
                f"blob storage unusable ({reason(exc)}); check JEMH_S3_* (or the folder of JEMH_VAR_DIR)"
            ) from exc


def _label(check: HealthCheck) -> str:
    return type(check).__name__.lower().replace("blobstorage", "blob_storage")


CHECKS: tuple[type[HealthCheck], ...] = (Database, Migrations, Broker, BlobStorage)


def ready_results() -> dict[str, str | None]:
    """Run the readiness checks at once (each in a thread, each within its time limit): name → None or reason.

    The checks run on an event loop of their own in a thread of their own, so this works from any caller (a WSGI
    worker, a management command, or a thread where another event loop is running)."""

    async def gather() -> list[HealthCheckResult]:
        return list(await asyncio.gather(*(check().get_result() for check in CHECKS)))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jemh-health") as runner:
        results = runner.submit(asyncio.run, gather()).result()
    return {_label(result.check): None if result.error is None else result.error.message for result in results}


@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    """Readiness as JSON: ``{"status": "ok"|"fail", "checks": {name: "ok" | reason}}``, HTTP 200 or 503."""
    results = ready_results()
    failed = any(results.values())
    response = JsonResponse(
        {"status": "fail" if failed else "ok", "checks": {name: why or "ok" for name, why in results.items()}},
        status=503 if failed else 200,
    )
    add_never_cache_headers(response)
    return response


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers (it checks nothing else, so a database outage does not restart the web)."""
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response
