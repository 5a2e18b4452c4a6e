"""The resolved-too-long rule, in memory."""

from datetime import timedelta

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.resolved_too_long import ResolvedTooLong
from tests.pipeline.steps.factory import NOW, profile
from tests.pipeline.steps.rules import commenting
from tests.trackers.memory import MemoryTracker


def _resolved(action: str, days_ago: int):
    tracker = MemoryTracker(now=NOW - timedelta(days=days_ago))  # resolved then
    tracker.add_project("ABC")
    ctx = commenting(profile(rejection=dict(resolved_reject_after_days=30, resolved_action=action)), tracker=tracker)
    ctx.decisions.issue = tracker.transition_issue("ABC-1", "Resolved")
    return ctx


def test_too_long_ago_is_rejected_with_a_hint() -> None:
    ctx = _resolved("reject", 40)
    verdict = ResolvedTooLong()(ctx)
    assert verdict.outcome == Outcome.REJECTED
    assert ctx.decisions.hint is not None and ctx.decisions.hint.context == {"issue_key": "ABC-1", "days": 30}


def test_too_long_ago_becomes_a_linked_new_issue() -> None:
    ctx = _resolved("create_linked", 40)
    assert ResolvedTooLong()(ctx).outcome is None
    assert ctx.decisions.issue is None and ctx.decisions.linked_issue_key == "ABC-1"


def test_recently_resolved_goes_on() -> None:
    ctx = _resolved("reject", 3)
    assert ResolvedTooLong()(ctx).outcome is None and ctx.decisions.issue is not None
