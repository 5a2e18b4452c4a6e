"""The whole outbound path through real Celery workers and a real Redis broker: signal → event → batch task at
the end of the window → send task → aiosmtpd."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, OutboundMessage
from trackers.interface import NewComment, NewIssue


@pytest.fixture()
def worker(redis_server: Any, memory_broker: None) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    import notifications.tasks  # noqa: F401 - registers the tasks with the app
    from jemh.celery import app
    from tests.services.celery import celery_pointed_at

    with (
        celery_pointed_at(redis_server.url),  # the environment's broker too, which Celery reads first
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield


def wait_until(check: Any, timeout: float = 20.0) -> None:
    """Poll with a deadline; SQLite's shared in-memory test database may say "table is locked" while the worker
    thread writes, which only means "look again"."""
    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout}s")


def test_events_are_batched_and_sent_by_workers(tracker: Any, mapping: Any, smtp_mail: Any, worker: None) -> None:
    mapping.batch_window_seconds = 2
    mapping.save()
    issue = tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="Worker path",
            reporter="bob",
            assignee="alice",
            email_participants=("dave@customer.example",),
        )
    )
    tracker.add_comment(issue.key, NewComment(body="Second event, same window", author="bob"))
    assert IssueEvent.objects.filter(issue_key=issue.key, status=EventStatus.PENDING).count() == 2

    wait_until(lambda: OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 2)
    received = smtp_mail.wait_for(2)
    assert sorted(r for m in received for r in m.envelope_to) == ["alice@example.org", "dave@customer.example"]
    assert all("Second event, same window" in m.message.get_body(("plain",)).get_content() for m in received)
    assert set(IssueEvent.objects.filter(issue_key=issue.key).values_list("status", flat=True)) == {
        EventStatus.NOTIFIED
    }


def test_smtp_down_then_back_through_the_worker(
    tracker: Any, mapping: Any, smtp_mail: Any, worker: None, settings: Any
) -> None:
    settings.JEMH_NOTIFICATION_RETRY_BASE = 1
    smtp_mail.refuse = True
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="Down", reporter="bob", assignee="alice"))
    wait_until(lambda: OutboundMessage.objects.filter(status=OutboundStatus.RETRYING, attempts__gte=1).exists())
    smtp_mail.refuse = False
    wait_until(lambda: OutboundMessage.objects.filter(status=OutboundStatus.SENT).exists())
    row = OutboundMessage.objects.get(issue_key=issue.key)
    assert row.attempts >= 2 and len(smtp_mail.wait_for(1)) == 1
