"""The pipeline's steps in their declared order (the table of contents), and the runner that records every
verdict, also when a step fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Outcome, Verdict
from inbound.pipeline.step import Step
from inbound.pipeline.steps.action import Action
from inbound.pipeline.steps.association import Association
from inbound.pipeline.steps.attachments import Attachments
from inbound.pipeline.steps.authentication import SenderAuthentication
from inbound.pipeline.steps.auto_reply import AutoReply
from inbound.pipeline.steps.bounce import Bounce
from inbound.pipeline.steps.bulk_or_list import BulkOrList
from inbound.pipeline.steps.catch_address import CatchAddress
from inbound.pipeline.steps.content import Content
from inbound.pipeline.steps.directive_rights import DirectiveRights
from inbound.pipeline.steps.directives import Directives
from inbound.pipeline.steps.filter_rules import FilterRules
from inbound.pipeline.steps.flood import Flood
from inbound.pipeline.steps.loop_limits import LoopLimits
from inbound.pipeline.steps.operating_mode import OperatingMode
from inbound.pipeline.steps.own_mail import OwnMail
from inbound.pipeline.steps.participants_only import ParticipantsOnly
from inbound.pipeline.steps.preprocess import Preprocess
from inbound.pipeline.steps.resolved_too_long import ResolvedTooLong
from inbound.pipeline.steps.routing import Routing
from inbound.pipeline.steps.spam import Spam
from inbound.pipeline.steps.users import Users
from inbound.pipeline.steps.writers import Writers

CHAIN: tuple[Step, ...] = (
    # 1. filters (rules)
    CatchAddress(),
    OwnMail(),
    AutoReply(),
    Bounce(),
    BulkOrList(),
    Spam(),
    FilterRules(),
    Flood(),
    # 2. routing (decides the mapping)
    Routing(),
    # who the sender is (a handler: the trusted MTA's verdict and the account)
    SenderAuthentication(),
    # 3.-4. pre-processing, directives (handlers: the draft's summary, text and fields)
    Preprocess(),
    Directives(),
    # 5. association (decides the issue)
    Association(),
    # 6. rejection rules
    OperatingMode(),
    ResolvedTooLong(),
    ParticipantsOnly(),
    Writers(),
    LoopLimits(),
    # 7.-9. content, attachments, users (handlers: the draft's text, files and people)
    Content(),
    Attachments(),
    Users(),
    DirectiveRights(),
    # 10. action (writes the draft)
    Action(),
)

DESCRIPTIONS: dict[str, str] = {step.name: step.description for step in CHAIN}


@dataclass
class RunResult:
    outcome: Outcome
    reason: str
    verdicts: list[Verdict] = field(default_factory=list)

    def steps(self) -> list[dict[str, Any]]:
        return [v.as_dict() for v in self.verdicts]


class StepFailed(Exception):
    """A step raised: the verdicts of the steps before it, its name, and the exception (``error``, also the
    ``__cause__``). The caller classifies ``error`` (retry or not) and keeps the record."""

    def __init__(self, step: str, verdicts: list[Verdict], error: Exception) -> None:
        super().__init__(f"step {step} failed: {type(error).__name__}")
        self.step = step
        self.verdicts = verdicts
        self.error = error

    def steps(self, outcome: Outcome) -> list[dict[str, Any]]:
        """The record: every verdict so far, then the failing step with the error's type (never its text, which
        may quote the mail)."""
        failure = Verdict(
            step=self.step,
            reason=f"failed: {type(self.error).__name__}",
            outcome=outcome,
            details={"error": type(self.error).__name__},
        )
        return [v.as_dict() for v in (*self.verdicts, failure)]


def run_chain(ctx: Context, chain: tuple[Step, ...] = CHAIN) -> RunResult:
    """Run the steps in order until one ends processing. A step's exception comes out as StepFailed."""
    verdicts: list[Verdict] = []
    for step in chain:
        try:
            verdict = step(ctx)
        except Exception as exc:
            raise StepFailed(step.name, list(verdicts), exc) from exc
        verdicts.append(verdict)
        if verdict.stops:
            assert verdict.outcome is not None
            return RunResult(verdict.outcome, verdict.reason, verdicts)
    return RunResult(Outcome.ERROR, "the pipeline ended without an action (a bug: please report it)", verdicts)
