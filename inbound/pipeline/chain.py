"""The pipeline's steps in their declared order, and the runner that records every verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.pipeline.action import Action
from inbound.pipeline.association import Association
from inbound.pipeline.content import Attachments, Content, Users
from inbound.pipeline.context import Context
from inbound.pipeline.filters import AutoReply, Bounce, BulkOrList, CatchAddress, FilterRules, Flood, OwnMail, Spam
from inbound.pipeline.outcome import Outcome, Verdict
from inbound.pipeline.rejection import LoopLimits, OperatingMode, ParticipantsOnly, ResolvedTooLong
from inbound.pipeline.shaping import Directives, Preprocess, Routing
from inbound.pipeline.step import Step

CHAIN: tuple[Step, ...] = (
    # 1. filters
    CatchAddress(),
    OwnMail(),
    AutoReply(),
    Bounce(),
    BulkOrList(),
    Spam(),
    FilterRules(),
    Flood(),
    # 2.-4. routing, pre-processing, directives
    Routing(),
    Preprocess(),
    Directives(),
    # 5. association
    Association(),
    # 6. rejection rules
    OperatingMode(),
    ResolvedTooLong(),
    ParticipantsOnly(),
    LoopLimits(),
    # 7.-9. content, attachments, users
    Content(),
    Attachments(),
    Users(),
    # 10. action
    Action(),
)


@dataclass
class RunResult:
    outcome: Outcome
    reason: str
    verdicts: list[Verdict] = field(default_factory=list)

    def steps(self) -> list[dict[str, Any]]:
        return [v.as_dict() for v in self.verdicts]


def run_chain(ctx: Context, chain: tuple[Step, ...] = CHAIN) -> RunResult:
    """Run the steps in order until one ends processing. Exceptions are the caller's to classify."""
    verdicts: list[Verdict] = []
    for step in chain:
        verdict = step(ctx)
        verdicts.append(verdict)
        if verdict.stops:
            assert verdict.outcome is not None
            return RunResult(verdict.outcome, verdict.reason, verdicts)
    return RunResult(Outcome.ERROR, "the pipeline ended without an action (a bug: please report it)", verdicts)
