"""The auto-reply filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.auto_reply import AutoReply
from tests.pipeline.steps.factory import context, profile


def test_an_automatic_reply_ends_in_the_profiles_action() -> None:
    ctx = context(headers={"Auto-Submitted": "auto-replied"}, config=profile(filters=dict(auto_reply_action="leave")))
    verdict = AutoReply()(ctx)
    assert verdict.outcome == Outcome.FILTERED
    assert verdict.reason == "an automatic reply: auto-reply: Auto-Submitted: auto-replied (RFC 3834)"


def test_allow_goes_on_with_the_reason() -> None:
    ctx = context(headers={"Auto-Submitted": "auto-replied"}, config=profile(filters=dict(auto_reply_action="allow")))
    verdict = AutoReply()(ctx)
    assert verdict.outcome is None and verdict.reason.endswith("; allowed by the profile")


def test_a_person_goes_on() -> None:
    assert AutoReply()(context()).outcome is None
