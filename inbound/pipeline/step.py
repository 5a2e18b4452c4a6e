"""The shape of a pipeline step: a name, a one-line description, and one call that returns a verdict."""

from __future__ import annotations

from typing import Protocol

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop


class Step(Protocol):
    """A step of the chain. ``name`` and ``description`` are class attributes of each step (read-only here)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def __call__(self, ctx: Context) -> Verdict: ...


# Filter actions (profiles.choices.FilterAction / NonCatchAction values) and what they end in.
ACTION_OUTCOMES = {"drop": Outcome.DROPPED, "leave": Outcome.FILTERED, "forward": Outcome.FORWARDED}
ALLOW = "allow"


def by_action(step: str, action: str, reason: str, **details: object) -> Verdict:
    """A verdict for a configured action: drop / leave / forward stop processing, allow goes on.

    An action outside these fails closed: the message is left for a human (``filtered``), the reason naming it."""
    if action == ALLOW:
        return go_on(step, f"{reason}; allowed by the profile", **details)
    outcome = ACTION_OUTCOMES.get(action)
    if outcome is None:
        return unknown_action(step, action, reason, **details)
    return stop(step, outcome, reason, action=action, **details)


def unknown_action(step: str, action: str, reason: str, **details: object) -> Verdict:
    """Fail closed on a configured action this version does not know: leave the message for a human, no hint."""
    return stop(
        step, Outcome.FILTERED, f"{reason}; unknown action {action!r}: left for a human", action=action, **details
    )
