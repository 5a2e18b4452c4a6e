"""Outcomes of processing one message, and the verdict each step returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.models import Outcome

__all__ = ["Outcome", "Verdict", "go_on", "issue_key_of", "stop"]


@dataclass(frozen=True)
class Verdict:
    """What one step decided. ``outcome`` set means the message's processing ends here."""

    step: str
    reason: str
    outcome: Outcome | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def stops(self) -> bool:
        return self.outcome is not None

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"step": self.step, "reason": self.reason}
        if self.outcome is not None:
            entry["outcome"] = str(self.outcome)
        if self.details:
            entry["details"] = self.details
        return entry


def go_on(step: str, reason: str, **details: Any) -> Verdict:
    return Verdict(step=step, reason=reason, details=details)


def stop(step: str, outcome: Outcome, reason: str, **details: Any) -> Verdict:
    return Verdict(step=step, reason=reason, outcome=outcome, details=details)


ISSUE_OUTCOMES = frozenset({Outcome.CREATED, Outcome.COMMENTED})  # the outcomes that wrote to an issue


def issue_key_of(outcome: str, report: Any) -> str:
    """The issue a processing report says the message created or commented on ("" for any other outcome, and
    for a dry run, which wrote nothing): the ``issue`` detail of the last step naming one."""
    if outcome not in ISSUE_OUTCOMES or not isinstance(report, dict):
        return ""
    for step in reversed(report.get("steps") or []):
        details = step.get("details") if isinstance(step, dict) else None
        if isinstance(details, dict) and not details.get("dry_run") and isinstance(details.get("issue"), str):
            return str(details["issue"])[:64]
    return ""
