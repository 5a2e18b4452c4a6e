"""The own-mail (loop) filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.own_mail import OwnMail
from tests.pipeline.steps.factory import context, profile


def test_our_fingerprint_marks_a_loop() -> None:
    ctx = context(headers={"X-JEMH-Fingerprint": "abc"}, config=profile(filters=dict(own_mail_action="drop")))
    verdict = OwnMail()(ctx)
    assert verdict.outcome == Outcome.DROPPED and "our own mail (loop)" in verdict.reason


def test_other_mail_goes_on() -> None:
    assert OwnMail()(context()).reason == "not our own mail (loop)"
