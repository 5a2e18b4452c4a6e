"""Fixtures of the fault tests: a PostgreSQL cluster of their own (stopped and started by the tests), set up
like the suite's server and with WAL written as lazily as PostgreSQL allows, the inbound fixtures, and real
prefork Celery workers (started and killed as a test needs) on Redis and the inbound tests' shared database."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _service
from tests.inbound.conftest import (  # noqa: F401 - fixtures shared with the inbound tests
    ROOT,
    Worker,
    mailbox,
    mailbox_pool,
    new_database,
    start_worker,
    worker,
)
from tests.services.postgres import Postgres, start_postgres

# With synchronous_commit=off (the suite's setting) a commit returns before its WAL is written; these make the
# WAL writer wait 10 s (its maximum) before writing it, so a crash soon after such a commit loses it.
LAZY_WAL = {
    "wal_writer_delay": "10000ms",
    "wal_writer_flush_after": "1GB",
    "bgwriter_lru_maxpages": "0",
    "checkpoint_timeout": "1h",
    "max_wal_size": "4GB",
}


@pytest.fixture(scope="module")
def lazy_postgres(services_root: Path) -> Iterator[Postgres]:
    root = services_root / f"postgres-faults-{uuid.uuid4().hex[:6]}"
    server = _service(lambda: start_postgres(root, settings=LAZY_WAL))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lazy_worker(lazy_postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Worker:
    """Subprocesses (pollers, ``jemh deliver``) on a migrated database of the lazy cluster."""
    return start_worker(new_database(lazy_postgres.url, "jemh_faults"), tmp_path_factory.mktemp("faults-worker"))


# -- real Celery workers ---------------------------------------------------------------------------------------

_redis_databases = itertools.count(1)

# Fast enough for tests: beat every second, a holder is gone after 3 s without a beat.
FAST = {"JEMH_WORKER_HEARTBEAT_SECONDS": "1", "JEMH_WORKER_STALE_SECONDS": "3", "JEMH_THREAD_WAIT_RETRY_SECONDS": "1"}


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


@dataclass
class Cluster:
    """Celery workers of one test on a Redis database of its own, and the helper commands on their database."""

    db: Worker
    env: dict[str, str]
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def call(self, *args: str) -> Any:
        done = self.db.run("-m", "tests.faults.helper", *args, extra_env=self.env)
        assert done.returncode == 0, f"helper {args} failed ({done.returncode}):\n{done.stderr.decode()}"
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    def start_worker(self, *options: str, **env: str) -> subprocess.Popen[bytes]:
        name = f"faults{len(self.workers)}"
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        argv = [sys.executable, "-m", "tests.faults.worker", "--pool", "prefork", "--concurrency", "2"]
        argv += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO", *options]
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.db.env, **self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(process)
        deadline = time.monotonic() + 60
        while len(children_of(process.pid)) < 2:
            assert process.poll() is None, f"the worker exited: {self.log(name)}"
            assert time.monotonic() < deadline, f"the worker did not start its pool: {self.log(name)}"
            time.sleep(0.2)
        return process

    def log(self, name: str = "faults0") -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-6000:]

    def wait_for(self, instance_id: int, done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Poll the report until ``done`` says so (or fail after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.call("report", str(instance_id))
            if done(report):
                return report
            if time.monotonic() > deadline:
                logs = "\n".join(self.log(f"faults{n}") for n in range(len(self.workers)))
                pytest.fail(f"not done within {timeout} s: {json.dumps(report)[:3000]}\n{logs}")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture()
def cluster(worker: Worker, redis_server: Any, tmp_path: Path) -> Iterator[Cluster]:  # noqa: F811
    url = redis_server.url.rsplit("/", 1)[0] + f"/{next(_redis_databases) % 16}"
    env = {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, **FAST}
    cluster = Cluster(worker, env, tmp_path)
    yield cluster
    cluster.stop()


def final(report: dict[str, Any]) -> bool:
    return bool(report["rows"]) and all(row["status"] in {"processed", "error"} for row in report["rows"])
