"""The bounce filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.bounce import Bounce
from tests.pipeline.steps.factory import context, profile


def test_a_bounce_names_the_bounced_recipients() -> None:
    ctx = context(
        sender="MAILER-DAEMON@example.net",
        subject="Undelivered Mail Returned to Sender",
        headers={"X-Failed-Recipients": "gone@example.net"},
        config=profile(filters=dict(bounce_action="drop")),
    )
    verdict = Bounce()(ctx)
    assert verdict.outcome == Outcome.DROPPED
    assert verdict.details["bounced_recipients"] == ["gone@example.net"]


def test_no_bounce_goes_on_without_recipients() -> None:
    verdict = Bounce()(context())
    assert verdict.outcome is None and "bounced_recipients" not in verdict.details
