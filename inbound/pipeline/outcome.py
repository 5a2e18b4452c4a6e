"""Outcomes of processing one message, and the verdict each step returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.models import Outcome

__all__ = ["Outcome", "Verdict", "go_on", "stop"]


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
