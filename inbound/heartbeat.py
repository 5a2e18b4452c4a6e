"""Heartbeats of the Celery roles, for container health checks (``python manage.py jemh health --role``).

A Celery worker's main process beats from a thread from the moment it is ready until it shuts down; Celery beat
beats from its scheduler's tick (every few seconds), so a beat whose loop is stuck stops beating. Both write a
``WorkerHeartbeat`` row named ``role@host:pid`` with their role; the processing pool's own heartbeats (claims, see
inbound.pipeline.claims) are rows of the worker role too. A role on a host is alive while one of its rows there beat
within the role's staleness.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import signals
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Max, Q
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from inbound.models import HeartbeatRole, WorkerHeartbeat

log = logging.getLogger(__name__)


def interval() -> float:
    """How often a role beats (seconds): the workers' heartbeat interval."""
    return float(getattr(settings, "JEMH_WORKER_HEARTBEAT_SECONDS", 10))


def staleness(role: str) -> timedelta:
    """How old a role's last beat may be while it counts as alive."""
    if role == HeartbeatRole.BEAT:
        return timedelta(seconds=getattr(settings, "JEMH_BEAT_STALE_SECONDS", 60))
    return timedelta(seconds=getattr(settings, "JEMH_WORKER_STALE_SECONDS", 30))


def host() -> str:
    return socket.gethostname()[:80]


def identity(role: str) -> str:
    return f"{role}@{host()}:{os.getpid()}"


def beat(role: str, now: datetime | None = None) -> None:
    """Record that this process, in ``role``, is alive."""
    now = now or timezone.now()
    me = identity(role)
    if not WorkerHeartbeat.objects.filter(pk=me).update(beat_at=now, role=role):
        WorkerHeartbeat.objects.update_or_create(worker=me, defaults={"beat_at": now, "started_at": now, "role": role})


@dataclass(frozen=True)
class Liveness:
    """Whether a role beats on a host, and when it last did."""

    role: str
    host: str
    alive: bool
    last_beat_at: datetime | None

    def describe(self, now: datetime | None = None) -> str:
        if self.last_beat_at is None:
            return f"no {self.role} has ever beaten on {self.host}"
        age = ((now or timezone.now()) - self.last_beat_at).total_seconds()
        state = "alive" if self.alive else "NOT alive"
        return f"{self.role} on {self.host} {state}: last beat {age:.0f} s ago (stale after {staleness(self.role)})"


def liveness(role: str, on_host: str | None = None, now: datetime | None = None) -> Liveness:
    """The newest beat of ``role`` on ``on_host`` (default: this host, as a container's health check asks)."""
    now = now or timezone.now()
    on_host = on_host or host()
    mine = Q(worker__startswith=f"{role}@{on_host}:") | Q(worker__startswith=f"{on_host}:")  # and claim holders
    last = WorkerHeartbeat.objects.filter(mine, role=role).aggregate(last=Max("beat_at"))["last"]
    return Liveness(role, on_host, last is not None and now - last <= staleness(role), last)


# -- the worker's main process ------------------------------------------------------------------------------------

_worker_beat: tuple[int, threading.Event] | None = None


def _beat_forever(stop: threading.Event) -> None:
    while True:
        try:
            beat(HeartbeatRole.WORKER)
        except Exception as exc:  # the database is away: beat again next time
            log.warning("worker role heartbeat failed: %s", type(exc).__name__)
        finally:
            close_old_connections()
        if stop.wait(interval()):
            return


@signals.worker_ready.connect(dispatch_uid="inbound.heartbeat.worker_ready")
def start_worker_heartbeat(**kwargs: Any) -> None:
    """The worker is ready (connected to its broker, consuming): its main process beats until it shuts down."""
    global _worker_beat
    if _worker_beat is not None and _worker_beat[0] == os.getpid():
        return
    stop = threading.Event()
    threading.Thread(target=_beat_forever, args=(stop,), name="jemh-role-heartbeat", daemon=True).start()
    _worker_beat = (os.getpid(), stop)


@signals.worker_shutdown.connect(dispatch_uid="inbound.heartbeat.worker_shutdown")
def stop_worker_heartbeat(**kwargs: Any) -> None:
    global _worker_beat
    if _worker_beat is not None and _worker_beat[0] == os.getpid():
        _worker_beat[1].set()
    _worker_beat = None


# -- Celery beat ------------------------------------------------------------------------------------------------------


class HeartbeatScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler that also beats, from its tick, as the beat role."""

    _last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        result = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_beat >= interval():
            try:
                beat(HeartbeatRole.BEAT)
                self._last_beat = now
            except Exception as exc:  # the database is away: the scheduler itself says more
                log.warning("beat heartbeat failed: %s", type(exc).__name__)
                close_old_connections()
        return result
