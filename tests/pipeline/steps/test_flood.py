"""The flood filter, in memory: the count comes from the look-ups, never the database."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.flood import Flood
from tests.pipeline.steps.factory import MemoryLookups, context, profile


def test_below_the_limit_goes_on() -> None:
    lookups = MemoryLookups(earlier=2)
    ctx = context(config=profile(filters=dict(flood_limit_per_hour=3, flood_action="drop")), lookups=lookups)
    verdict = Flood()(ctx)
    assert verdict.outcome is None and verdict.reason.startswith("2 earlier message(s)")
    assert lookups.asked == ["earlier_from_sender"]


def test_at_the_limit_ends_in_the_flood_action() -> None:
    ctx = context(
        config=profile(filters=dict(flood_limit_per_hour=3, flood_action="leave")), lookups=MemoryLookups(earlier=3)
    )
    verdict = Flood()(ctx)
    assert verdict.outcome == Outcome.FILTERED and verdict.reason.startswith("flood: 3 messages")


def test_no_limit_asks_nothing() -> None:
    lookups = MemoryLookups(earlier=100)
    verdict = Flood()(context(config=profile(filters=dict(flood_limit_per_hour=None)), lookups=lookups))
    assert verdict.reason == "no flood limit" and lookups.asked == []


def test_no_sender_is_not_counted() -> None:
    ctx = context(config=profile(filters=dict(flood_limit_per_hour=1)), sender_hash="")
    assert Flood()(ctx).reason == "no sender to count"
