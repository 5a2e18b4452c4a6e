"""Directives, in memory."""

from inbound.pipeline.steps.directives import Directives
from inbound.pipeline.steps.preprocess import Preprocess
from tests.pipeline.steps.factory import context, mapping


def test_directive_lines_become_fields_and_leave_the_text() -> None:
    ctx = context(body="@priority=High\n@labels=printer\n\nThe printer is on fire.\n")
    ctx.decisions.mapping = mapping()
    Preprocess()(ctx)
    verdict = Directives()(ctx)
    assert ctx.draft.fields == {"priority": "High", "labels": "printer"}
    assert ctx.draft.body == "The printer is on fire."
    assert ctx.draft.reply == "The printer is on fire."
    assert verdict.details["directives"] == ["labels", "priority"]


def test_no_directives() -> None:
    ctx = context()
    ctx.decisions.mapping = mapping()
    Preprocess()(ctx)
    assert Directives()(ctx).reason == "no directives" and ctx.draft.fields == {}
