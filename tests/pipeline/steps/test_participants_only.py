"""The participants-only rule, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.participants_only import ParticipantsOnly
from tests.pipeline.steps.factory import profile
from tests.pipeline.steps.rules import commenting

ON = dict(participants_only=True)


def test_a_participant_may_comment() -> None:
    ctx = commenting(profile(rejection=ON), email_participants=("Alice@Example.org",))
    assert ParticipantsOnly()(ctx).reason == "the sender takes part in the issue"


def test_a_stranger_is_rejected() -> None:
    ctx = commenting(profile(rejection=ON), email_participants=("bob@example.org",))
    verdict = ParticipantsOnly()(ctx)
    assert verdict.outcome == Outcome.REJECTED and ctx.decisions.hint is not None


def test_off_by_default() -> None:
    assert ParticipantsOnly()(commenting()).reason == "not applicable"
