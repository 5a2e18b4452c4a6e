"""The chain: its steps match the Step shape, and a failing step leaves the record of what ran (in memory)."""

import pytest

from inbound.pipeline.chain import CHAIN, DESCRIPTIONS, StepFailed, run_chain
from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Outcome, Verdict, go_on
from tests.pipeline.steps.factory import context


class Exploding:
    name = "exploding"
    description = "Raises, quoting the mail."

    def __call__(self, ctx: Context) -> Verdict:
        raise ValueError(f"cannot handle {ctx.mail.sender_email}: {ctx.message.subject}")


class Fine:
    name = "fine"
    description = "Goes on."

    def __call__(self, ctx: Context) -> Verdict:
        return go_on(self.name, "all well")


def test_every_step_has_a_unique_name_and_a_description() -> None:
    names = [step.name for step in CHAIN]
    assert len(names) == len(set(names)) == len(DESCRIPTIONS)
    assert all(step.description for step in CHAIN)


def test_the_whole_chain_runs_in_memory() -> None:
    ctx = context()
    result = run_chain(ctx)
    assert result.outcome == Outcome.CREATED and [v.step for v in result.verdicts][-1] == "action"


def test_a_failing_step_keeps_the_verdicts_so_far_and_its_name_without_mail_text() -> None:
    with pytest.raises(StepFailed) as caught:
        run_chain(context(), (Fine(), Exploding(), Fine()))
    failed = caught.value
    assert failed.step == "exploding" and isinstance(failed.error, ValueError)
    assert failed.__cause__ is failed.error
    steps = failed.steps(Outcome.ERROR)
    assert steps == [
        {"step": "fine", "reason": "all well"},
        {"step": "exploding", "reason": "failed: ValueError", "outcome": "error", "details": {"error": "ValueError"}},
    ]
    assert "alice" not in str(steps) + str(failed) and "Printer" not in str(steps) + str(failed)
