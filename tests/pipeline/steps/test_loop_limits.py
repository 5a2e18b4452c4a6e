"""The loop limits rule, in memory: it decides, and never changes the text."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.loop_limits import LoopLimits
from tests.pipeline.steps.factory import context, mapping, profile
from tests.pipeline.steps.rules import commenting
from trackers.interface import NewComment


def test_too_many_comments_from_mail_is_rejected() -> None:
    ctx = commenting(profile(limits=dict(max_comments_per_issue=2, comment_limit_action="reject")))
    for n in (1, 2):
        ctx.tracker.add_comment("ABC-1", NewComment(body="hi", author_email="a@example.org", source_message_id=n))
    verdict = LoopLimits()(ctx)
    assert verdict.outcome == Outcome.REJECTED and "already has 2 comments from mail" in verdict.reason
    assert ctx.decisions.hint is not None and ctx.decisions.hint.context["limit"] == 2


def test_the_comment_of_this_message_itself_is_not_counted() -> None:
    ctx = commenting(profile(limits=dict(max_comments_per_issue=1)))
    ctx.tracker.add_comment("ABC-1", NewComment(body="hi", author_email="a@example.org", source_message_id=7))
    assert LoopLimits()(ctx).outcome is None  # 7 is this message (a second run)


def test_a_long_body_is_decided_not_cut() -> None:
    ctx = context(config=profile(limits=dict(max_body_chars=10, body_too_large_action="truncate")))
    ctx.decisions.mapping = mapping()
    ctx.draft.body = "x" * 50
    verdict = LoopLimits()(ctx)
    assert verdict.outcome is None and ctx.decisions.body_limit == 10
    assert ctx.draft.body == "x" * 50 and ctx.draft.files == []


def test_a_long_body_can_be_rejected() -> None:
    ctx = context(config=profile(limits=dict(max_body_chars=10, body_too_large_action="reject")))
    ctx.draft.body = "x" * 50
    assert LoopLimits()(ctx).outcome == Outcome.REJECTED and ctx.decisions.body_limit is None
