"""What the rejection rules share: a configured limit action as a verdict (and the hint for a rejection)."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, stop
from inbound.pipeline.step import unknown_action

LIMIT_OUTCOMES = {"reject": Outcome.REJECTED, "forward": Outcome.FORWARDED, "drop": Outcome.DROPPED}


def limited(ctx: Context, step: str, action: str, reason: str, hint: str, **context: object) -> Verdict:
    """Stop with the action's outcome; a rejection decides the hint to send. An unknown action fails closed: the
    message is left for a human (``filtered``) and nobody is mailed."""
    outcome = LIMIT_OUTCOMES.get(action)
    if outcome is None:
        return unknown_action(step, action, reason)
    if outcome is Outcome.REJECTED:
        issue = ctx.decisions.issue
        ctx.decisions.hint = Hint(hint, {"issue_key": issue.key if issue else "", **context})
    return stop(step, outcome, reason, action=action)
