"""The catch address filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.catch_address import CatchAddress
from tests.pipeline.steps.factory import catch, context, profile


def test_every_message_is_taken_without_catch_addresses() -> None:
    assert CatchAddress()(context()).outcome is None


def test_mail_to_a_catch_address_goes_on() -> None:
    ctx = context(config=profile(catch_addresses=catch("support@example.com")))
    verdict = CatchAddress()(ctx)
    assert verdict.outcome is None and verdict.reason == "sent to a catch address"


def test_mail_to_another_address_ends_in_the_profiles_action() -> None:
    ctx = context(config=profile(catch_addresses=catch("help@example.com"), non_catch_action="leave"))
    verdict = CatchAddress()(ctx)
    assert verdict.outcome == Outcome.FILTERED and verdict.details == {"action": "leave"}
