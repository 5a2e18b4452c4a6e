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


def test_an_issue_with_fewer_comments_than_every_cap_is_not_counted() -> None:
    """The issue as the tracker read it says how many comments it has (Jira: one call saved per reply)."""
    import dataclasses

    ctx = commenting(profile(limits=dict(max_comments_per_issue=2, max_comments_per_issue_per_hour=3)))
    for n in (1, 2):
        ctx.tracker.add_comment("ABC-1", NewComment(body="hi", author_email="a@example.org", source_message_id=n))
    asked: list[str] = []
    count = ctx.tracker.count_mail_comments

    def counting(issue_key: str, **kwargs: object) -> tuple[int, int]:
        asked.append(issue_key)
        return count(issue_key, **kwargs)  # type: ignore[arg-type]

    ctx.tracker.count_mail_comments = counting  # type: ignore[method-assign]
    issue = ctx.decisions.issue
    assert issue is not None
    ctx.decisions.issue = dataclasses.replace(issue, comment_count=1)  # below both caps: cannot have reached one
    assert LoopLimits()(ctx).outcome is None and asked == []
    ctx.decisions.issue = dataclasses.replace(issue, comment_count=2)  # at a cap: counted, and the cap holds
    assert LoopLimits()(ctx).outcome is not None and asked == ["ABC-1"]
