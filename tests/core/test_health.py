"""Health endpoints and ``jemh health --role``: liveness answers, readiness fails with the reason (and 503) when a
real dependency is stopped, and each Celery role's heartbeat decides its container health check."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from inbound import heartbeat
from inbound.models import HeartbeatRole, WorkerHeartbeat
from tests.services.base import free_port
from tests.services.celery import celery_pointed_at
from tests.services.postgres import start_postgres
from tests.services.redis import start_redis

ROOT = Path(__file__).resolve().parent.parent.parent


def jemh_health(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("jemh", "health", *args, stdout=out)
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    return code, json.loads(out.getvalue())


def test_liveness_answers_without_checking_anything() -> None:
    response = Client().get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_readiness_with_everything_up() -> None:
    response = Client().get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok", "blob_storage": "ok"},
    }
    assert Client().get("/health/").json() == response.json()  # the old address is the readiness check


@pytest.mark.django_db(transaction=True)
def test_readiness_answers_where_an_event_loop_runs() -> None:
    """Regression: run as an async view, readiness raised "cannot use AsyncToSync in the same thread as an async event
    loop" once Playwright's sync API (an event loop in the main thread) had run earlier in the suite."""

    async def inside_a_running_loop() -> int:
        return Client().get("/health/ready").status_code

    with ThreadPoolExecutor(max_workers=1) as thread:  # a thread of its own (this one may have a loop already)
        assert thread.submit(asyncio.run, inside_a_running_loop()).result() == 200


@pytest.mark.django_db(transaction=True)
def test_readiness_fails_with_the_reason_when_redis_is_stopped(tmp_path: Path, monkeypatch: Any) -> None:
    redis = start_redis(tmp_path / "redis")
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)  # Celery reads it before its configuration
    try:
        with celery_pointed_at(redis.url, redis.url):
            assert Client().get("/health/ready").status_code == 200
            redis.stop()
            response = Client().get("/health/ready")
    finally:
        redis.stop()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == "ok" and body["checks"]["blob_storage"] == "ok"
    assert "Celery broker unreachable" in body["checks"]["broker"]
    assert "Connection refused" in body["checks"]["broker"] and "CELERY_BROKER_URL" in body["checks"]["broker"]


@pytest.mark.django_db(transaction=True)
def test_readiness_fails_when_the_blob_storage_is_unusable(settings: Any, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the blob folder should be")
    storages = dict(settings.STORAGES)
    storages["blobs"] = {
        "BACKEND": "jemh.storage.EncryptedStorage",
        "OPTIONS": {
            "backend": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocked)}}
        },
    }
    settings.STORAGES = storages
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert "blob storage unusable" in response.json()["checks"]["blob_storage"]


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_web_health_command_against_a_real_postgresql_unmigrated_then_stopped(
    tmp_path: Path, services_root: Path
) -> None:
    server = start_postgres(services_root / "postgres-health")  # a cluster of its own, never migrated
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(JEMH_VAR_DIR=str(tmp_path / "var"), DATABASE_URL=server.url, CELERY_BROKER_URL="memory://")
    try:
        fresh = _manage(env, "jemh", "health", "--role", "web", "--no-http")
        server.stop()
        stopped = _manage(env, "jemh", "health", "--role", "web", "--no-http")
    finally:
        server.stop()
    assert fresh.returncode == 1, fresh.stderr
    checks = json.loads(fresh.stdout)["checks"]
    assert checks["database"] == "ok"
    assert "not applied" in checks["migrations"] and "python manage.py migrate" in checks["migrations"]
    assert stopped.returncode == 1, stopped.stderr
    checks = json.loads(stopped.stdout)["checks"]
    assert "database unreachable" in checks["database"] and "DATABASE_URL" in checks["database"]
    assert "Traceback" not in stopped.stderr


def test_web_health_command_over_http_to_a_closed_port(db: None) -> None:
    code, report = jemh_health("--role", "web", "--address", f"127.0.0.1:{free_port()}", "--timeout", "3")
    assert code == 1 and report["status"] == "fail" and "did not answer" in report["reason"]


@pytest.mark.django_db(transaction=True)
def test_web_health_command_over_http(live_server: Any) -> None:
    address = live_server.url.removeprefix("http://")
    code, report = jemh_health("--role", "web", "--address", address)
    assert code == 0, report
    assert report["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_worker_and_beat_health_follow_their_heartbeats(settings: Any) -> None:
    now = timezone.now()
    assert jemh_health("--role", "worker")[0] == 1  # never beaten
    heartbeat.beat(HeartbeatRole.WORKER)
    code, report = jemh_health("--role", "worker")
    assert code == 0 and "alive" in report["reason"]
    assert jemh_health("--role", "beat")[0] == 1  # the worker's beat is not beat's
    heartbeat.beat(HeartbeatRole.BEAT)
    assert jemh_health("--role", "beat")[0] == 0
    WorkerHeartbeat.objects.update(beat_at=now - timedelta(seconds=settings.JEMH_BEAT_STALE_SECONDS + 1))
    code, report = jemh_health("--role", "beat")
    assert code == 1 and "NOT alive" in report["reason"]
    assert jemh_health("--role", "worker")[0] == 1


@pytest.mark.django_db
def test_a_claim_holders_heartbeat_counts_for_the_worker_role() -> None:
    from inbound.pipeline import claims

    claims.beat()  # a pool process that claimed mail (host:pid:nonce)
    assert heartbeat.liveness(HeartbeatRole.WORKER).alive
    assert not heartbeat.liveness(HeartbeatRole.WORKER, on_host="another-host").alive


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections (CONN_MAX_AGE=0 on PostgreSQL)
def test_the_beat_scheduler_beats_as_it_ticks() -> None:
    from jemh.celery import app

    scheduler = heartbeat.HeartbeatScheduler(app=app, lazy=True)
    scheduler.setup_schedule()
    scheduler.tick()
    row = WorkerHeartbeat.objects.get(role=HeartbeatRole.BEAT)
    assert row.worker == heartbeat.identity(HeartbeatRole.BEAT)
    assert heartbeat.liveness(HeartbeatRole.BEAT).alive
