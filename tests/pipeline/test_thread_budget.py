"""The message time budget in a worker's pool thread (a threads pool, for Jira-bound processing): no SIGALRM there,
so the heartbeat thread's check interrupts a message past the soft limit with SoftTimeLimitExceeded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from inbound.pipeline import claims


@pytest.fixture()
def in_a_worker(settings: Any) -> Iterator[None]:
    settings.JEMH_PROCESSING_SOFT_LIMIT = 1
    settings.JEMH_PROCESSING_HARD_LIMIT = 0  # never kill the test process
    claims.mark_worker()
    yield
    claims._in_worker = False


def test_a_message_in_a_pool_thread_is_interrupted_past_the_soft_limit(in_a_worker: None) -> None:
    outcome: list[str] = []

    def process() -> None:
        try:
            with claims.message_budget():
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:  # Python code between short waits: interruptible
                    time.sleep(0.02)
            outcome.append("finished")
        except SoftTimeLimitExceeded:
            outcome.append("interrupted")

    worker = threading.Thread(target=process)
    worker.start()
    time.sleep(0.3)
    claims._kill_if_overdue()  # what the heartbeat thread runs: not overdue yet
    assert worker.is_alive()
    time.sleep(1.0)
    claims._kill_if_overdue()
    worker.join(timeout=5)
    assert outcome == ["interrupted"]
    assert claims._in_hand_threads == {}  # the thread's budget ended with it


def test_a_message_within_its_budget_is_left_alone(in_a_worker: None) -> None:
    done: list[bool] = []

    def process() -> None:
        with claims.message_budget():
            time.sleep(0.2)
        done.append(True)

    worker = threading.Thread(target=process)
    worker.start()
    claims._kill_if_overdue()
    worker.join(timeout=5)
    assert done == [True] and claims._in_hand_threads == {}
