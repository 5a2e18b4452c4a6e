"""A tracker's rate limit releases the message with the tracker's retry time: the refusal is not a failed attempt,
and the retry is queued with that countdown (not the usual back-off)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inbound.models import InboundMessage
from inbound.pipeline import service, tasks
from inbound.pipeline.context import Context
from inbound.pipeline.service import process_inbound
from inbound.pipeline.steps.users import Users
from tests.pipeline.conftest import mail
from trackers.errors import TemporaryTrackerError
from trackers.jira.errors import JiraTemporaryError
from trackers.models import Issue


def _raising(exc: Exception) -> Callable[[Any, Context], Any]:
    def call(self: Any, ctx: Context) -> Any:
        raise exc

    return call


def test_a_rate_limit_refusal_is_not_a_failed_attempt_and_keeps_the_retry_time(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = JiraTemporaryError("Jira is rate-limited (jira-burst-based)", retry_after=42.0, status=429)
    monkeypatch.setattr(Users, "__call__", _raising(refusal))
    message = deliver(mail())
    assert message.status == "failed" and message.outcome == "failed"
    assert message.report["attempts"] == 0 and message.report["throttled"] == 1
    assert message.report["retry_in_s"] == 42.0
    process_inbound(message.pk)
    message.refresh_from_db()
    assert (message.report["attempts"], message.report["throttled"]) == (0, 2)
    monkeypatch.undo()
    process_inbound(message.pk)
    message.refresh_from_db()
    assert message.outcome == "created" and Issue.objects.count() == 1


def test_a_storm_of_refusals_never_ends_in_error_before_the_throttle_cap(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_THROTTLES", 3)
    monkeypatch.setattr(Users, "__call__", _raising(JiraTemporaryError("busy", retry_after=1.0, status=429)))
    message = deliver(mail())
    for _ in range(service.MAX_ATTEMPTS + 2):
        process_inbound(message.pk)
    message.refresh_from_db()
    # 3 refusals were free; every one after them counted, so the message ends for a human as any failure would
    assert message.status == "error" and "gave up after 8 attempts" in message.report["error"]


def test_an_ordinary_temporary_failure_still_counts_and_has_no_retry_time(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Users, "__call__", _raising(TemporaryTrackerError("the tracker is busy")))
    message = deliver(mail())
    assert message.report["attempts"] == 1 and "retry_in_s" not in message.report
    assert "throttled" not in message.report


def test_the_follow_up_retries_with_the_trackers_retry_time(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setattr(Users, "__call__", _raising(JiraTemporaryError("busy", retry_after=7.5, status=429)))
    first = deliver(mail())
    monkeypatch.setattr(Users, "__call__", _raising(TemporaryTrackerError("the tracker is busy")))
    second = deliver(mail(message_id="<other@customer.example>"))
    queued: list[tuple[tuple[Any, ...], float]] = []
    monkeypatch.setattr(
        tasks.process_message, "apply_async", lambda args, countdown: queued.append((tuple(args), countdown))
    )
    tasks._follow_up({first.pk: "failed", second.pk: "failed"})
    assert dict((args[0], countdown) for args, countdown in queued) == {
        first.pk: 7.5,
        second.pk: tasks.RETRY_BASE_SECONDS,
    }
