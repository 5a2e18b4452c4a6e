"""Faults of processing, through real prefork Celery workers on Redis and a shared database: a pool process or a
whole worker killed mid-group, replies captured before their requests, and messages that hang.

Each test asserts that every message ends with exactly one final outcome, that no message made more than one issue
or comment, and that recovery happens within a stated bound (seconds, with the tests' 3 s heartbeat staleness).
"""

from __future__ import annotations

import os
import signal
import time
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import Cluster, final
from tests.inbound.conftest import make_message

pytestmark = [pytest.mark.faults, pytest.mark.services]

TO = "support@support.example.com"


def write_mailbox(folder: Path, messages: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(messages):
        (folder / f"{index:04d}.eml").write_bytes(raw)
    return folder


def captured(cluster: Cluster, folder: Path) -> tuple[int, list[int]]:
    instance_id = cluster.call("setup")["instance_id"]
    return instance_id, cluster.call("record", str(instance_id), str(folder))["ids"]


def assert_exactly_once(report: dict[str, Any], issues: int, comments: int = 0) -> None:
    assert all(row["status"] in {"processed", "error"} for row in report["rows"]), report["rows"]
    assert report["doubled_issues"] == 0 and report["doubled_comments"] == 0
    assert (report["issues"], report["comments"]) == (issues, comments)


def holder_pid(report: dict[str, Any]) -> int | None:
    holders = [row["claimed_by"] for row in report["rows"] if row["status"] == "processing" and row["claimed_by"]]
    return int(holders[0].split(":")[1]) if holders else None


def test_a_killed_pool_process_is_taken_over_by_the_redelivered_task(cluster: Cluster, tmp_path: Path) -> None:
    folder = write_mailbox(tmp_path / "mail", [make_message(subject=f"Kill {n}", to=TO) for n in range(12)])
    instance_id, ids = captured(cluster, folder)
    cluster.start_worker(JEMH_TEST_SLOW="0.4")
    cluster.call("queue", *map(str, ids), "--group", "12")
    report = cluster.wait_for(instance_id, lambda r: sum(x["status"] == "processed" for x in r["rows"]) >= 3, 60)
    pid = holder_pid(report)
    assert pid is not None, report
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    report = cluster.wait_for(instance_id, final, 60)
    recovery = time.monotonic() - killed
    assert recovery < 20, f"took {recovery:.1f} s after the kill"  # redelivered at once: no heartbeat wait
    assert_exactly_once(report, issues=12)
    assert {row["outcome"] for row in report["rows"]} == {"created"}
    assert sum(row["overruns"] for row in report["rows"]) == 1  # the message in hand, counted once


def test_a_killed_worker_is_taken_over_by_the_sweep(cluster: Cluster, tmp_path: Path) -> None:
    folder = write_mailbox(tmp_path / "mail", [make_message(subject=f"Whole {n}", to=TO) for n in range(12)])
    instance_id, ids = captured(cluster, folder)
    first = cluster.start_worker(JEMH_TEST_SLOW="0.4")
    cluster.call("queue", *map(str, ids), "--group", "12")
    cluster.wait_for(instance_id, lambda r: sum(x["status"] == "processed" for x in r["rows"]) >= 3, 60)
    os.killpg(first.pid, signal.SIGKILL)  # the main process and its pool: the task stays unacknowledged
    first.wait(timeout=30)
    killed = time.monotonic()
    cluster.start_worker("--beat")  # beat runs the sweep every 15 s (django-celery-beat's schedule)
    report = cluster.wait_for(instance_id, final, 90)
    recovery = time.monotonic() - killed
    assert recovery < 60, f"took {recovery:.1f} s after the kill"
    assert_exactly_once(report, issues=12)
    assert {row["outcome"] for row in report["rows"]} == {"created"}


def test_replies_captured_before_their_requests_become_comments(cluster: Cluster, tmp_path: Path) -> None:
    requests = [
        make_message(subject=f"Question {n}", to=TO, message_id=make_msgid(domain="c.example")) for n in range(30)
    ]
    replies = []
    for n, raw in enumerate(requests):
        message_id = next(line.split(b": ", 1)[1] for line in raw.split(b"\r\n") if line.startswith(b"Message-ID"))
        extra = {"In-Reply-To": message_id.decode(), "References": message_id.decode()}
        replies.append(make_message(subject=f"Re: Question {n}", to=TO, body="More detail.", extra=extra))
    folder = write_mailbox(tmp_path / "mail", [*replies, *requests])  # adversarial: every reply first
    instance_id, ids = captured(cluster, folder)
    cluster.start_worker()
    cluster.call("queue", *map(str, ids), "--group", "5")  # replies and requests in groups on both processes
    report = cluster.wait_for(instance_id, final, 90)
    assert_exactly_once(report, issues=30, comments=30)
    outcomes = [row["outcome"] for row in report["rows"]]
    assert outcomes == ["commented"] * 30 + ["created"] * 30
    assert not any(row["thread_wait"] for row in report["rows"])


def test_a_reply_before_its_request_in_one_group_is_run_after_it(cluster: Cluster, tmp_path: Path) -> None:
    request = make_message(subject="Question", to=TO, message_id="<q1@c.example>")
    reply = make_message(subject="Re: Question", to=TO, extra={"In-Reply-To": "<q1@c.example>"})
    folder = write_mailbox(tmp_path / "mail", [reply, request])
    instance_id, ids = captured(cluster, folder)
    cluster.start_worker()
    cluster.call("queue", *map(str, ids), "--group", "2")
    report = cluster.wait_for(instance_id, final, 60)
    assert_exactly_once(report, issues=1, comments=1)
    assert [row["outcome"] for row in report["rows"]] == ["commented", "created"]


def test_a_message_that_hangs_ends_in_error_after_two_overruns(cluster: Cluster, tmp_path: Path) -> None:
    messages = [make_message(subject=f"Poison {n}", to=TO) for n in range(5)]
    messages[1] = make_message(subject="Poison hangs", to=TO, extra={"X-Test-Hang": "soft"})
    folder = write_mailbox(tmp_path / "mail", messages)
    instance_id, ids = captured(cluster, folder)
    cluster.start_worker(JEMH_PROCESSING_SOFT_LIMIT="2", JEMH_PROCESSING_HARD_LIMIT="5")
    cluster.call("queue", *map(str, ids), "--group", "5")
    report = cluster.wait_for(instance_id, final, 60)
    assert_exactly_once(report, issues=4)
    poison = report["rows"][1]
    assert (poison["status"], poison["overruns"]) == ("error", 2)
    assert poison["error"] == "processing took longer than 2 s twice: left for a human"
    assert [row["outcome"] for n, row in enumerate(report["rows"]) if n != 1] == ["created"] * 4


def test_a_message_that_outlives_the_hard_limit_ends_in_error(cluster: Cluster, tmp_path: Path) -> None:
    messages = [make_message(subject=f"Hard {n}", to=TO) for n in range(4)]
    messages[0] = make_message(subject="Hard hangs", to=TO, extra={"X-Test-Hang": "hard"})
    folder = write_mailbox(tmp_path / "mail", messages)
    instance_id, ids = captured(cluster, folder)
    cluster.start_worker("--beat", JEMH_PROCESSING_SOFT_LIMIT="1", JEMH_PROCESSING_HARD_LIMIT="3")
    cluster.call("queue", *map(str, ids), "--group", "4")
    report = cluster.wait_for(instance_id, final, 120)
    assert_exactly_once(report, issues=3)
    poison = report["rows"][0]
    assert (poison["status"], poison["overruns"]) == ("error", 2)
    assert "did not finish twice" in poison["error"]
