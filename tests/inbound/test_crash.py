"""Crash injection: a poller killed at the worst moments loses nothing and duplicates nothing.

The poll runs in a subprocess (sharing a database with the test) that ends abruptly — os._exit or
SIGKILL — right after storing a blob, or right after committing a chunk of audit rows but before the
mailbox is told; then a normal poll runs and the result is checked against the mailbox.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.inbound.conftest import Mailbox, Worker, make_message, s3_backend

KILLED = (70, -9)


def setup_imap(worker: Worker, mailbox: Mailbox, name: str, count: int, **options: str) -> tuple[int, list[bytes]]:
    messages = [make_message(subject=f"{name} {i}", message_id=None if i == 2 else "auto") for i in range(count)]
    mailbox.append(*messages)
    args = [
        "setup",
        options.pop("kind", "imap"),
        "--name",
        name,
        "--host",
        mailbox.host,
        "--port",
        str(options.pop("port", mailbox.imap_port)),
        "--user",
        mailbox.username,
        "--password",
        mailbox.password,
    ]
    for key, value in options.items():
        args += [f"--{key}", value] if value != "" else [f"--{key}"]
    return worker.call(*args)["source_id"], messages


def poll(worker: Worker, source_id: int, *extra: str, env: dict[str, str] | None = None) -> Any:
    return worker.run("-m", "tests.inbound.worker", "poll", str(source_id), *extra, extra_env=env)


def assert_exactly_once(
    worker: Worker, source_id: int, messages: list[bytes], env: dict[str, str] | None = None
) -> None:
    report = worker.call("report", str(source_id), extra_env=env)
    digests = sorted(row["sha256"] for row in report["rows"])
    assert digests == sorted(hashlib.sha256(m).hexdigest() for m in messages), "lost or duplicated mail"
    assert report["receipts"] == len(messages)
    assert all(row["copies"] == 0 for row in report["rows"])


@pytest.mark.parametrize(
    ("crash_at", "how"),
    [
        ("stored:3", "exit"),  # blobs stored, nothing recorded yet
        ("recorded:1", "kill"),  # audit rows committed, mailbox not told (between storing and flagging)
        ("recorded:2", "exit"),  # mid-batch: the first chunk recorded and told, the second recorded only
    ],
)
def test_imap_crash_then_repoll(worker: Worker, mailbox: Mailbox, crash_at: str, how: str) -> None:
    source_id, messages = setup_imap(worker, mailbox, f"imap-{crash_at}-{how}", 7)
    crashed = poll(worker, source_id, "--chunk", "3", "--crash-at", crash_at, "--how", how)
    assert crashed.returncode in KILLED, crashed.stderr.decode()
    recorded = len(worker.call("report", str(source_id))["rows"])
    expected_recorded = {"stored:3": 0, "recorded:1": 3, "recorded:2": 6}[crash_at]
    assert recorded == expected_recorded
    unseen_after_crash = len(mailbox.uids(criteria="UNSEEN"))
    assert unseen_after_crash >= len(messages) - expected_recorded  # nothing told before it was recorded
    blocked = poll(worker, source_id)  # the dead poller's lease has not run out yet
    assert '"skipped"' in blocked.stdout.decode() and "another poll" in blocked.stdout.decode()
    done = poll(worker, source_id, "--expire-lease")
    assert done.returncode == 0 and '"ok"' in done.stdout.decode(), done.stderr.decode()
    assert_exactly_once(worker, source_id, messages)
    assert mailbox.uids(criteria="UNSEEN") == []
    assert poll(worker, source_id).returncode == 0
    assert_exactly_once(worker, source_id, messages)


def test_pop3_delete_crash_before_quit(worker: Worker, mailbox: Mailbox) -> None:
    source_id, messages = setup_imap(
        worker, mailbox, "pop-crash", 5, kind="pop3", port=str(mailbox.pop3_port), **{"delete-after": ""}
    )
    crashed = poll(worker, source_id, "--chunk", "2", "--crash-at", "recorded:2", "--how", "kill")
    assert crashed.returncode in KILLED
    assert len(mailbox.uids()) == 5  # DELE never committed: QUIT was not reached
    assert poll(worker, source_id, "--expire-lease").returncode == 0
    assert_exactly_once(worker, source_id, messages)
    assert mailbox.uids() == []


def test_crash_with_blobs_in_real_s3(worker: Worker, mailbox: Mailbox, swift: Any) -> None:
    bucket = "jemh-crash-test"
    swift.client().create_bucket(Bucket=bucket)
    backend = s3_backend(swift, bucket)["OPTIONS"]
    env = {
        "JEMH_S3_BUCKET": bucket,
        "JEMH_S3_ENDPOINT_URL": backend["endpoint_url"],
        "JEMH_S3_ACCESS_KEY_ID": backend["access_key"],
        "JEMH_S3_SECRET_ACCESS_KEY": backend["secret_key"],
    }
    source_id, messages = setup_imap(worker, mailbox, "s3-crash", 4)
    crashed = poll(worker, source_id, "--chunk", "2", "--crash-at", "stored:3", "--how", "kill", env=env)
    assert crashed.returncode in KILLED
    assert poll(worker, source_id, "--expire-lease", env=env).returncode == 0
    assert_exactly_once(worker, source_id, messages, env=env)
    keys = [o["Key"] for o in swift.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) >= len(messages)  # the blob stored just before the kill is an orphan, never a row
