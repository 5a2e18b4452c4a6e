"""The spam filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.spam import Spam
from tests.pipeline.steps.factory import context, profile


def test_flagged_spam_ends_in_the_profiles_action() -> None:
    ctx = context(headers={"X-Spam-Flag": "YES"}, config=profile(filters=dict(spam_action="leave")))
    verdict = Spam()(ctx)
    assert verdict.outcome == Outcome.FILTERED and "X-Spam-Flag: YES" in verdict.reason


def test_unflagged_mail_goes_on() -> None:
    assert Spam()(context()).outcome is None
