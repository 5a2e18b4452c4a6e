"""The bulk and list filter, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.bulk_or_list import BulkOrList
from tests.pipeline.steps.factory import context, profile


def test_list_mail_ends_in_the_profiles_action() -> None:
    ctx = context(headers={"List-Id": "<team.example.org>"}, config=profile(filters=dict(bulk_action="drop")))
    verdict = BulkOrList()(ctx)
    assert verdict.outcome == Outcome.DROPPED and verdict.reason.startswith("bulk or list mail: ")


def test_personal_mail_goes_on() -> None:
    assert BulkOrList()(context()).reason == "not bulk or list mail"
