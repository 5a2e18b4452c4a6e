"""Durable before acknowledged: mail the mailbox (or the MTA) was told about survives a database crash right
after, on a server that runs with ``synchronous_commit = off`` like the suite's."""

from __future__ import annotations

import pytest

from tests.faults.conftest import Postgres, Worker
from tests.inbound.conftest import Mailbox, make_message
from tests.inbound.test_crash import poll, setup_imap

pytestmark = pytest.mark.faults


def crash_and_recover(server: Postgres) -> None:
    server.stop()  # pg_ctl stop -m immediate: WAL still in PostgreSQL's buffers is gone
    server.start_again()


def test_imap_mail_marked_seen_survives_a_database_crash(
    lazy_postgres: Postgres, lazy_worker: Worker, mailbox: Mailbox
) -> None:
    """Regression: capture committed with synchronous_commit=off, so mail seen in the mailbox had no row."""
    source_id, messages = setup_imap(lazy_worker, mailbox, "durable-imap", 30)
    done = poll(lazy_worker, source_id)
    assert done.returncode == 0 and '"ok"' in done.stdout.decode(), done.stderr.decode()
    crash_and_recover(lazy_postgres)
    seen = mailbox.uids(criteria="SEEN")
    assert len(seen) == len(messages)
    report = lazy_worker.call("report", str(source_id))
    assert len(report["rows"]) == len(seen), "mail seen in the mailbox has no audit row"
    assert report["receipts"] == len(messages)


def test_piped_mail_accepted_survives_a_database_crash(lazy_postgres: Postgres, lazy_worker: Worker) -> None:
    """Regression: ``jemh deliver`` exited 0 (the MTA forgets the mail) before the commit was durable."""
    made = lazy_worker.call("setup", "pipe", "--name", "durable-pipe", "--instance", "Durable pipe")
    command = ("manage.py", "jemh", "deliver", "--source", "durable-pipe")
    messages = [make_message(subject=f"piped {i}", message_id=None if i == 1 else "auto") for i in range(3)]
    for raw in messages:
        done = lazy_worker.run(*command, input=raw)
        assert done.returncode == 0, done.stderr.decode()
    crash_and_recover(lazy_postgres)
    report = lazy_worker.call("report", str(made["source_id"]))
    assert len(report["rows"]) == len(messages), "mail the MTA was told was taken has no audit row"
