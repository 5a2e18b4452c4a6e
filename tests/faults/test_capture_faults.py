"""Faults of capture through real servers (Dovecot, PostgreSQL, Redis, prefork Celery workers): a poller killed
after queueing a chunk or halfway through telling the mailbox about one, Redis restarted with its queue lost
while captured mail waits for processing, and PostgreSQL stopped immediately in the middle of a chunk.

Each test asserts that every message in the mailbox has exactly one audit row (and, where processing runs, one
final outcome), that no message made more than one issue, that nothing seen in the mailbox lacks a row, and that
recovery happens within a stated bound in seconds.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.faults.conftest import FAST, Cluster, Postgres, Worker, final
from tests.inbound.conftest import ROOT, Mailbox, make_message
from tests.inbound.test_crash import KILLED, assert_exactly_once, poll
from tests.services.redis import Redis, start_redis

pytestmark = [pytest.mark.faults, pytest.mark.services]

TO = "support@support.example.com"
COUNT = 7
CHUNK = "3"  # chunks of 3, 3 and 1


MOVED = "Captured"


def imap_source(
    db: Worker, mailbox: Mailbox, name: str, instance: str, strategy: str = "mark_read"
) -> tuple[int, list[bytes]]:
    """An IMAP source on ``mailbox`` (filled with COUNT requests to the support address) of instance ``instance``;
    with the ``move`` strategy captured mail goes to the folder MOVED."""
    messages = [make_message(subject=f"{name} {i}", to=TO, message_id=None if i == 2 else "auto") for i in range(COUNT)]
    mailbox.append(*messages)
    args = ["setup", "imap", "--name", name, "--instance", instance, "--host", mailbox.host, "--strategy", strategy]
    args += ["--port", str(mailbox.imap_port), "--user", mailbox.username, "--password", mailbox.password]
    if strategy == "move":
        with mailbox.client() as client:
            if not client.folder_exists(MOVED):
                client.create_folder(MOVED)
        args += ["--move-to", MOVED]
    return db.call(*args)["source_id"], messages


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def assert_seen_have_rows(db: Worker, source_id: int, mailbox: Mailbox, strategy: str = "mark_read") -> int:
    """Every message the mailbox was told about (flagged seen, or moved) has an audit row; returns how many."""
    folder, criteria = (MOVED, "ALL") if strategy == "move" else ("INBOX", "SEEN")
    with mailbox.client() as client:
        client.select_folder(folder, readonly=True)
        seen = client.search(criteria)
        bodies = [data[b"BODY[]"] for data in client.fetch(seen, [b"BODY.PEEK[]"]).values()] if seen else []
    rows = {row["sha256"] for row in db.call("report", str(source_id))["rows"]}
    assert {digest(raw) for raw in bodies} <= rows, "mail seen in the mailbox has no audit row"
    return len(bodies)


def assert_one_outcome_each(report: dict[str, Any]) -> None:
    assert len(report["rows"]) == COUNT
    assert all(row["status"] == "processed" and row["outcome"] == "created" for row in report["rows"]), report
    assert report["doubled_issues"] == 0 and report["doubled_comments"] == 0
    assert (report["issues"], report["comments"]) == (COUNT, 0)


def all_final(report: dict[str, Any]) -> bool:
    return len(report["rows"]) == COUNT and final(report)


@pytest.mark.parametrize(
    ("crash_at", "strategy", "recorded", "seen"),
    [
        ("queued:1", "mark_read", 3, 0),  # the first chunk committed and its tasks sent; the mailbox not told
        ("told:2", "mark_read", 6, 4),  # the first chunk told; of the second (recorded, queued) one message told
        ("told:2", "move", 6, 4),  # the same with MOVE: one message of the second chunk moved
    ],
)
def test_capture_killed_after_queueing_or_half_telling(
    cluster: Cluster, mailbox: Mailbox, crash_at: str, strategy: str, recorded: int, seen: int
) -> None:
    made = cluster.call("setup")
    source_id, messages = imap_source(cluster.db, mailbox, f"faults-{crash_at}-{strategy}", made["name"], strategy)
    crashed = poll(cluster.db, source_id, "--chunk", CHUNK, "--crash-at", crash_at, "--how", "kill", env=cluster.env)
    assert crashed.returncode in KILLED, crashed.stderr.decode()
    assert len(cluster.call("report", str(made["instance_id"]))["rows"]) == recorded
    assert assert_seen_have_rows(cluster.db, source_id, mailbox, strategy) == seen

    cluster.start_worker()  # takes the tasks the dead poller queued
    restarted = time.monotonic()
    done = poll(cluster.db, source_id, "--expire-lease", env=cluster.env)  # the next poll, its lease run out
    assert done.returncode == 0 and '"ok"' in done.stdout.decode(), done.stderr.decode()
    report = cluster.wait_for(made["instance_id"], all_final, 60)
    recovery = time.monotonic() - restarted
    assert recovery < 30, f"took {recovery:.1f} s after the restart"
    assert_one_outcome_each(report)
    assert_exactly_once(cluster.db, source_id, messages)
    assert mailbox.uids(criteria="UNSEEN") == []
    assert assert_seen_have_rows(cluster.db, source_id, mailbox, strategy) == COUNT
    if strategy == "move":
        assert mailbox.uids() == []


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of this test alone (restarted by it), without persistence like the suite's."""
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture()
def lonely_cluster(worker: Worker, own_redis: Redis, tmp_path: Path) -> Iterator[Cluster]:
    env = {"CELERY_BROKER_URL": own_redis.url, "CELERY_RESULT_BACKEND": own_redis.url, **FAST}
    cluster = Cluster(worker, env, tmp_path)
    yield cluster
    cluster.stop()


def queued(server: Redis) -> int:
    """Tasks waiting in Celery's default queue."""
    client = redis.Redis.from_url(server.url)
    try:
        return int(client.llen("celery"))
    finally:
        client.close()


def test_redis_restarted_with_its_queue_lost(lonely_cluster: Cluster, own_redis: Redis, mailbox: Mailbox) -> None:
    cluster = lonely_cluster
    made = cluster.call("setup")
    source_id, messages = imap_source(cluster.db, mailbox, "faults-redis-lost", made["name"])
    done = poll(cluster.db, source_id, "--chunk", CHUNK, env=cluster.env)  # no worker yet: the tasks wait in Redis
    assert done.returncode == 0 and '"ok"' in done.stdout.decode(), done.stderr.decode()
    assert assert_seen_have_rows(cluster.db, source_id, mailbox) == COUNT
    assert queued(own_redis) > 0
    own_redis.restart()  # no persistence: the queued tasks are gone
    assert queued(own_redis) == 0
    assert all(row["status"] == "received" for row in cluster.call("report", str(made["instance_id"]))["rows"])

    # The sweep takes mail received and unclaimed for UNQUEUED_AFTER (2 minutes): let that time have passed.
    assert cluster.call("age", str(made["instance_id"]), "600")["aged"] == COUNT
    restarted = time.monotonic()
    cluster.start_worker("--beat")  # beat runs resume_processing every 15 s, oldest first
    report = cluster.wait_for(made["instance_id"], all_final, 90)
    recovery = time.monotonic() - restarted
    assert recovery < 45, f"took {recovery:.1f} s after the restart"  # one sweep interval plus processing
    assert_one_outcome_each(report)
    assert_exactly_once(cluster.db, source_id, messages)


def test_database_stopped_immediately_in_the_middle_of_a_chunk(
    lazy_postgres: Postgres, lazy_worker: Worker, mailbox: Mailbox, tmp_path: Path
) -> None:
    source_id, messages = imap_source(lazy_worker, mailbox, "faults-pg-immediate", "Faults immediate")
    marker = tmp_path / "paused"
    failed = Path(f"{marker}.failed")
    argv = [sys.executable, "-m", "tests.inbound.worker", "poll", str(source_id), "--chunk", CHUNK]
    argv += ["--pause-at", str(marker), "--pause-before", "commit:2"]  # chunk 2 fetched and stored, not committed
    poller = subprocess.Popen(argv, cwd=ROOT, env=lazy_worker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert poller.poll() is None and time.monotonic() < deadline, "the poll never reached its second chunk"
        time.sleep(0.05)
    lazy_postgres.stop("immediate")
    marker.unlink()
    deadline = time.monotonic() + 60
    while not failed.exists():  # the commit of chunk 2 met the dead database
        assert time.monotonic() < deadline, "the commit of the second chunk did not fail"
        time.sleep(0.05)
    lazy_postgres.start_again()
    restarted = time.monotonic()
    out, err = poller.communicate(timeout=120)
    assert poller.returncode == 0, err.decode()  # nothing escaped poll
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["status"] == "failed" and result["captured"] == 3, result
    assert len(lazy_worker.call("report", str(source_id))["rows"]) == 3  # the first chunk, durable before told
    assert assert_seen_have_rows(lazy_worker, source_id, mailbox) == 3

    again = poll(lazy_worker, source_id, "--chunk", CHUNK)
    assert again.returncode == 0 and '"ok"' in again.stdout.decode(), again.stderr.decode()
    recovery = time.monotonic() - restarted
    assert recovery < 30, f"took {recovery:.1f} s after the restart"
    assert_exactly_once(lazy_worker, source_id, messages)  # none lost, none doubled
    assert mailbox.uids(criteria="UNSEEN") == []
