"""SMTP faults through real servers: a long outage is waited out without spending attempts, a batch stops at its
first outage, a connection dropped after the message was sent is recorded and costs at most one double, and a
refusal of the message itself still counts (issue 11, finding 6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notifications.choices import OutboundStatus
from notifications.models import IssueEvent, OutboundMessage
from notifications.sending import TAKEN_OVER, send_many, send_outbound
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.notifications.smtp_faults import DroppingSink, RcptRefusingSink, greeting_refuser, start_sink
from tests.notifications.test_worker import wait_until, worker  # noqa: F401 - the worker fixture
from tests.services.base import free_port
from tests.services.smtp import SmtpSink
from trackers.interface import NewIssue

RECIPIENTS = {"alice@example.org", "bob@example.org", "dave@customer.example"}


def new_issue(tracker: Any) -> Any:
    return tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="Printer on fire",
            email_sender_address="carol@customer.example",
            email_participants=("dave@customer.example",),
            assignee="alice",
            watchers=("bob",),
        )
    )


def flushed(tracker: Any) -> Any:
    issue = new_issue(tracker)
    return flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)


@pytest.fixture()
def fast_retries(settings: Any) -> Any:
    settings.JEMH_NOTIFICATION_MAX_ATTEMPTS = 2
    settings.JEMH_NOTIFICATION_RETRY_BASE = 1
    settings.JEMH_NOTIFICATION_OUTAGE_RETRY_MAX = 2
    return settings


@pytest.fixture()
def sinks() -> Iterator[list[SmtpSink]]:
    """SMTP servers a test starts itself, stopped at its end."""
    started: list[SmtpSink] = []
    yield started
    for sink in started:
        sink.stop()


def point_at(settings: Any, port: int) -> None:
    settings.EMAIL_PORT = port


def test_an_outage_longer_than_the_retry_budget_spends_no_attempts_then_all_go_once(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, sinks: list[SmtpSink]
) -> None:
    port = free_port()  # nothing listens: connection refused, as with a stopped server
    point_at(fast_retries, port)
    flushed(tracker)
    first_seen = None
    for _ in range(3 * fast_retries.JEMH_NOTIFICATION_MAX_ATTEMPTS):
        results = send_queued()
        assert [r.status for r in results] == [OutboundStatus.RETRYING] * 3
        assert all(r.outage and 1 <= (r.retry_in or 0) <= 2 for r in results)
        rows = list(OutboundMessage.objects.order_by("pk"))
        assert [r.attempts for r in rows] == [0, 0, 0], "an outage spends no attempt"
        assert all("SMTP server unreachable since" in r.error and "ConnectionRefusedError" in r.error for r in rows)
        first_seen = first_seen or rows[0].unreachable_since
        assert rows[0].unreachable_since == first_seen, "the outage keeps its start"
    assert not OutboundMessage.objects.filter(status=OutboundStatus.FAILED).exists()

    back = start_sink(SmtpSink(port=port))  # the server comes back on the same port
    sinks.append(back)
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 3
    assert send_queued() == []
    received = back.wait_for(3)
    assert set(by_recipient(received)) == RECIPIENTS and len(received) == 3, "each sent exactly once"
    for row in OutboundMessage.objects.all():
        assert (row.attempts, row.error, row.unreachable_since, row.maybe_sent_at) == (1, "", None, None)


def test_a_batch_stops_at_the_first_outage_and_waits_as_one(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, monkeypatch: Any
) -> None:
    from notifications import tasks

    queued: list[tuple[str, Any, Any]] = []
    monkeypatch.setattr(tasks, "queue_batch", lambda ids, countdown=None: queued.append(("batch", ids, countdown)))
    monkeypatch.setattr(tasks, "queue_send", lambda pk, countdown=None: queued.append(("send", pk, countdown)))
    result = flushed(tracker)
    with greeting_refuser() as down:  # "421 down for maintenance" on connect
        point_at(fast_retries, down.port)
        tasks.send_and_reschedule(result.outbound_ids, result.prepared)
        assert down.connections == 1, "one try for the whole batch, not one per mail"
    assert queued == [("batch", result.outbound_ids, 1)], "one delayed batch, no single sends"
    rows = OutboundMessage.objects.order_by("pk")
    assert [(r.status, r.attempts) for r in rows] == [(OutboundStatus.RETRYING, 0)] * 3
    assert all("421" in r.error and r.next_attempt_at is not None for r in rows)

    point_at(fast_retries, smtp_mail.port)  # back: the delayed batch sends them all over one session
    assert tasks.send_batch.run(result.outbound_ids) == {"sent": 3, "waiting": 0}
    assert set(by_recipient(smtp_mail.wait_for(3))) == RECIPIENTS and len(smtp_mail.received) == 3


def test_the_sweep_queues_lost_sends_in_batches(tracker: Any, mapping: Any, smtp_mail: Any, monkeypatch: Any) -> None:
    from notifications import tasks

    batches: list[list[int]] = []
    monkeypatch.setattr(tasks, "queue_batch", lambda ids, countdown=None: batches.append(ids))
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 2)
    result = flushed(tracker)
    OutboundMessage.objects.update(
        status=OutboundStatus.RETRYING, next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.sweep()["sends"] == 3
    assert batches == [sorted(result.outbound_ids)[:2], sorted(result.outbound_ids)[2:]]


def test_a_drop_after_the_message_was_sent_is_recorded_and_sent_once_more(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, sinks: list[SmtpSink]
) -> None:
    dropping = start_sink(DroppingSink(port=free_port(), drops=1))
    sinks.append(dropping)
    point_at(fast_retries, dropping.port)
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="Doubt", reporter="bob", assignee="alice"))
    flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)
    assert [r.status for r in send_queued()] == [OutboundStatus.RETRYING]
    row = OutboundMessage.objects.get()
    assert row.maybe_sent_at is not None and row.attempts == 1
    assert "dropped after the whole message was sent" in row.maybe_sent_reason
    assert "delivery uncertain" in row.error
    assert len(dropping.wait_for(1)) == 1, "the server had stored it"

    assert [r.status for r in send_queued()] == [OutboundStatus.SENT]
    received = dropping.wait_for(2)
    assert [m.envelope_to for m in received] == [["alice@example.org"]] * 2, "at most twice, and only here"
    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT and row.maybe_sent_at is not None, "the doubt stays on the row"


def test_a_second_doubt_ends_the_mail_failed_rather_than_a_third_copy(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, sinks: list[SmtpSink]
) -> None:
    fast_retries.JEMH_NOTIFICATION_MAX_ATTEMPTS = 8
    dropping = start_sink(DroppingSink(port=free_port(), drops=-1))
    sinks.append(dropping)
    point_at(fast_retries, dropping.port)
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="Doubt", reporter="bob", assignee="alice"))
    flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)
    assert [r.status for r in send_queued()] == [OutboundStatus.RETRYING]
    assert [r.status for r in send_queued()] == [OutboundStatus.FAILED]
    assert send_queued() == []
    row = OutboundMessage.objects.get()
    assert row.status == OutboundStatus.FAILED and "may have arrived" in row.error and row.maybe_sent_at
    assert len(dropping.wait_for(3, timeout=0.5)) == 2, "never a third copy"


def test_a_row_taken_over_from_a_stopped_worker_records_the_doubt(tracker: Any, mapping: Any, smtp_mail: Any) -> None:
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="Crash", reporter="bob", assignee="alice"))
    flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)
    row = OutboundMessage.objects.get()
    OutboundMessage.objects.update(status=OutboundStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1))
    assert send_outbound(row.pk).status == OutboundStatus.SENT
    row.refresh_from_db()
    assert row.maybe_sent_at is not None and row.maybe_sent_reason == TAKEN_OVER
    assert len(smtp_mail.wait_for(1)) == 1


def test_a_refused_recipient_fails_at_once_and_a_temporary_refusal_still_counts(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, sinks: list[SmtpSink]
) -> None:
    refusing = start_sink(RcptRefusingSink(port=free_port()))
    sinks.append(refusing)
    point_at(fast_retries, refusing.port)
    result = flushed(tracker)
    results = send_many(result.outbound_ids, result.prepared)
    assert {r.status for r in results.values()} == {OutboundStatus.FAILED}, "a 5xx is about the message: final"
    assert all("550" in r.error for r in OutboundMessage.objects.all())
    assert all(r.blob_name for r in OutboundMessage.objects.all()), "kept so that it can be sent again"

    OutboundMessage.objects.update(status=OutboundStatus.QUEUED, attempts=0)
    point_at(fast_retries, smtp_mail.port)
    smtp_mail.refuse = True  # 451 after DATA: the server is up and refuses this message for now
    assert {r.status for r in send_queued()} == {OutboundStatus.RETRYING}
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}, "a 4xx answer spends an attempt"


@pytest.mark.usefixtures("worker")
def test_smtp_down_then_back_through_a_real_worker_recovers_within_seconds(
    tracker: Any, mapping: Any, smtp_mail: Any, fast_retries: Any, sinks: list[SmtpSink]
) -> None:
    fast_retries.JEMH_NOTIFICATION_OUTAGE_RETRY_MAX = 1
    port = free_port()
    point_at(fast_retries, port)
    new_issue(tracker)
    wait_until(lambda: OutboundMessage.objects.filter(status=OutboundStatus.RETRYING).count() == 3)
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {0}
    back = start_sink(SmtpSink(port=port))
    sinks.append(back)
    wait_until(lambda: OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 3, timeout=15)
    received = back.wait_for(3)
    assert set(by_recipient(received)) == RECIPIENTS and len(received) == 3


def test_an_unreachable_tracker_is_waited_out_too(tracker: Any, mapping: Any, smtp_mail: Any, monkeypatch: Any) -> None:
    """The tracker's side of "outages are waited out": composing needs the issue's people; while the tracker
    cannot answer, the flush is rolled back and retried by its task (no budget), the events stay pending."""
    from celery.exceptions import Retry

    from notifications import composing, tasks
    from trackers.errors import TemporaryTrackerError

    issue = new_issue(tracker)
    event = IssueEvent.objects.get(issue_key=issue.key)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise TemporaryTrackerError("the tracker did not answer (test)")

    with monkeypatch.context() as patched:
        patched.setattr(composing, "issue_data", unreachable)
        patched.setattr(tasks.flush_issue_batch, "retry", lambda exc, countdown: Retry(exc=exc, when=countdown))
        for _ in range(10):
            with pytest.raises(Retry):
                tasks.flush_issue_batch.run(event.instance_id, issue.key)
            event.refresh_from_db()
            assert event.status == "pending" and not OutboundMessage.objects.exists()
    IssueEvent.objects.filter(pk=event.pk).update(due_at=timezone.now())  # its window is over
    assert len(tasks.flush_issue_batch.run(event.instance_id, issue.key)["outbound"]) == 3
    assert set(by_recipient(smtp_mail.wait_for(3))) == RECIPIENTS
