"""The operating mode rule, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.operating_mode import OperatingMode
from tests.pipeline.steps.factory import context, mapping, profile
from tests.pipeline.steps.rules import commenting


def test_create_only_makes_a_new_issue_although_one_was_found() -> None:
    ctx = commenting(mode="create_only")
    verdict = OperatingMode()(ctx)
    assert ctx.decisions.issue is None and "although the mail refers to ABC-1" in verdict.reason


def test_comment_only_without_an_issue_is_rejected_with_a_hint() -> None:
    ctx = context(config=profile(rejection=dict(comment_only_no_match_action="reject")))
    ctx.decisions.mapping = mapping(operating_mode="comment_only")
    verdict = OperatingMode()(ctx)
    assert verdict.outcome == Outcome.REJECTED
    assert ctx.decisions.hint is not None and ctx.decisions.hint.reason == "comment_only_no_match"


def test_comment_only_dropping_sends_no_hint() -> None:
    ctx = context(config=profile(rejection=dict(comment_only_no_match_action="drop")))
    ctx.decisions.mapping = mapping(operating_mode="comment_only")
    assert OperatingMode()(ctx).outcome == Outcome.DROPPED and ctx.decisions.hint is None
