"""The record survives: a step that raises leaves a report with every verdict so far, the failing step's name and
the error (redacted), on the database through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from inbound.models import InboundMessage
from inbound.pipeline.context import Context
from inbound.pipeline.steps.users import Users
from inbound.pipeline.testcases import run_test_case
from profiles.models import Profile, TestCase
from tests.pipeline.conftest import mail
from trackers.errors import TemporaryTrackerError
from trackers.models import Issue


def _raising(exc: Exception) -> Callable[[Any, Context], Any]:
    def call(self: Any, ctx: Context) -> Any:
        raise exc

    return call


def test_a_bug_in_a_step_keeps_the_steps_before_it_and_names_it(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Users, "__call__", _raising(KeyError("carol@customer.example wrote: Printer on fire")))
    message = deliver(mail())
    report = message.report
    assert message.outcome == "error" and message.status == "error"
    assert report["failed_step"] == "users"
    names = [step["step"] for step in report["steps"]]
    assert names[0] == "catch_address" and names[-2:] == ["attachments", "users"]
    assert report["steps"][-1] == {
        "step": "users",
        "reason": "failed: KeyError",
        "outcome": "error",
        "details": {"error": "KeyError"},
    }
    assert report["error"] == "unexpected error: KeyError (the details are in the worker's log)"
    assert "carol@customer.example" not in str(report) and "Printer" not in str(report)  # no mail text
    assert not Issue.objects.exists()


def test_a_temporary_failure_in_a_step_is_retried_with_its_record(
    deliver: Callable[..., InboundMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Users, "__call__", _raising(TemporaryTrackerError("the tracker is busy")))
    message = deliver(mail())
    assert message.outcome == "failed" and message.status == "failed"
    assert message.report["failed_step"] == "users"
    assert message.report["steps"][-1]["outcome"] == "failed"
    assert message.report["error"] == "temporary problem: the tracker is busy"


def test_a_dry_run_whose_step_fails_reports_the_steps_and_shows_them_as_a_table(
    admin_client: Any, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Users, "__call__", _raising(ValueError("Printer on fire")))
    case = TestCase.objects.create(profile=profile, name="printer", raw_message=mail().decode())
    report = run_test_case(case, dry_run=True)
    assert report["failed_step"] == "users" and report["error"] == "step users failed: ValueError"
    assert [s["step"] for s in report["steps"]][-1] == "users" and "Printer" not in str(report)
    page = admin_client.get(reverse("admin:profiles_testcase_change", args=[case.pk])).content.decode()
    deciding = page.split('class="jemh-report-deciding"')[1].split("</tr>")[0]
    assert "<td>users</td>" in deciding and "failed: ValueError" in deciding
