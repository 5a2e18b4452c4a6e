"""A PostgreSQL outage during a poll: nothing escapes the poll, the failure is recorded on the source once
the database is back, the lease is released, no mail is lost and the next poll works."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Postgres, Worker
from tests.inbound.conftest import ROOT, Mailbox
from tests.inbound.test_crash import assert_exactly_once, poll, setup_imap

pytestmark = pytest.mark.faults


def test_database_stopped_during_a_poll(
    lazy_postgres: Postgres, lazy_worker: Worker, mailbox: Mailbox, tmp_path: Path
) -> None:
    """Regression: the exception of the failed capture escaped poll's handler (which wrote to the same dead
    database), no failure was recorded and the lease blocked the source for five minutes."""
    source_id, messages = setup_imap(lazy_worker, mailbox, "outage", 5)
    marker = tmp_path / "paused"
    poller = subprocess.Popen(
        [sys.executable, "-m", "tests.inbound.worker", "poll", str(source_id), "--pause-at", str(marker)],
        cwd=ROOT,
        env=lazy_worker.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert poller.poll() is None and time.monotonic() < deadline, "the poll never reached its first chunk"
        time.sleep(0.05)
    lazy_postgres.stop("fast")  # the mailbox is open, the chunk about to be fetched and captured
    marker.unlink()
    time.sleep(2)
    lazy_postgres.start_again()
    out, err = poller.communicate(timeout=120)
    assert poller.returncode == 0, err.decode()  # nothing escaped poll
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["status"] == "failed" and result["captured"] == 0 and result["acknowledged"] == 0
    report = lazy_worker.call("report", str(source_id))
    assert report["rows"] == [] and report["source"]["consecutive_failures"] == 1
    assert report["source"]["last_error"] and not report["source"]["leased"]
    assert len(mailbox.uids(criteria="UNSEEN")) == len(messages)  # nothing told before it was recorded

    again = poll(lazy_worker, source_id)  # at once: no lease left to run out
    assert again.returncode == 0 and '"ok"' in again.stdout.decode(), again.stderr.decode()
    assert_exactly_once(lazy_worker, source_id, messages)
    assert mailbox.uids(criteria="UNSEEN") == []
    assert lazy_worker.call("report", str(source_id))["source"]["consecutive_failures"] == 0
