"""Configured actions a step does not know fail closed: the message is left for a human (``filtered``), the reason
names the value, and nobody is mailed. Seen before the house issue: an unknown filter action let mail through, an
unknown limit action rejected it and mailed the sender a hint."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.step import by_action
from inbound.pipeline.steps.limited import limited
from inbound.pipeline.steps.loop_limits import LoopLimits
from inbound.pipeline.steps.users import Users
from tests.pipeline.steps.factory import context, mapping, profile


def test_a_known_filter_action_keeps_its_meaning() -> None:
    assert by_action("spam", "allow", "spam flag").outcome is None
    assert by_action("spam", "drop", "spam flag").outcome == Outcome.DROPPED
    assert by_action("spam", "leave", "spam flag").outcome == Outcome.FILTERED


def test_an_unknown_filter_action_leaves_the_message_for_a_human() -> None:
    verdict = by_action("spam", "quarantine", "spam flag")
    assert verdict.outcome == Outcome.FILTERED
    assert "unknown action 'quarantine'" in verdict.reason


def test_an_unknown_limit_action_neither_rejects_nor_hints() -> None:
    ctx = context(config=profile())
    verdict = limited(ctx, "loop_limits", "bounce-back", "too many comments", "comment_limit")
    assert verdict.outcome == Outcome.FILTERED and "unknown action 'bounce-back'" in verdict.reason
    assert ctx.decisions.hint is None


def test_an_unknown_body_too_large_action_is_not_a_silent_truncation() -> None:
    ctx = context(config=profile(limits=dict(max_body_chars=10, body_too_large_action="shorten")))
    ctx.decisions.mapping = mapping()
    ctx.draft.body = "x" * 50
    verdict = LoopLimits()(ctx)
    assert verdict.outcome == Outcome.FILTERED and ctx.decisions.body_limit is None


def test_an_unknown_sender_action_does_not_accept_the_sender() -> None:
    ctx = context(config=profile())
    ctx.decisions.mapping = mapping(unknown_sender_action="welcome")
    verdict = Users()(ctx)
    assert verdict.outcome == Outcome.FILTERED and "unknown action 'welcome'" in verdict.reason
