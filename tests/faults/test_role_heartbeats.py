"""Container health checks of the Celery roles against real processes (issue 18): a prefork worker and Celery beat
each pass ``jemh health --role`` while they run, and fail it once they are killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import Cluster
from tests.inbound.conftest import ROOT

pytestmark = pytest.mark.faults
QUICK = {"JEMH_BEAT_STALE_SECONDS": "3"}  # with the cluster's: workers stale after 3 s without a beat


def health(cluster: Cluster, role: str) -> int:
    done = cluster.db.run(str(ROOT / "manage.py"), "jemh", "health", "--role", role, extra_env={**cluster.env, **QUICK})
    return done.returncode


def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_worker_and_beat_health_follow_the_real_processes(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    until(lambda: health(cluster, "worker") == 0, 60, f"the worker never passed its health check: {cluster.log()}")
    log = open(cluster.logs / "beat.log", "wb")  # noqa: SIM115 - lives as long as beat
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "jemh", "beat", "--loglevel", "INFO"],
        cwd=cluster.logs,  # beat's files (none with the database scheduler) stay out of the checkout
        env={**cluster.db.env, **cluster.env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        beat_log = lambda: (cluster.logs / "beat.log").read_text(errors="replace")[-3000:]  # noqa: E731
        until(lambda: health(cluster, "beat") == 0, 60, f"beat never passed its health check: {beat_log()}")
        assert "HeartbeatScheduler" in beat_log()  # the settings' scheduler, without a --scheduler option
        os.killpg(beat.pid, signal.SIGKILL)
        beat.wait(timeout=30)
        until(lambda: health(cluster, "beat") == 1, 30, "beat still passes its health check after it was killed")
        assert health(cluster, "worker") == 0
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        until(lambda: health(cluster, "worker") == 1, 30, "the worker still passes its health check after it died")
    finally:
        if beat.poll() is None:
            os.killpg(beat.pid, signal.SIGKILL)
            beat.wait(timeout=30)
        log.close()
