"""Shared set-up for the rule tests: a context whose mail comments on issue ABC-1."""

from __future__ import annotations

from typing import Any

from inbound.pipeline.context import Context
from tests.pipeline.steps.factory import context, mapping
from tests.trackers.memory import MemoryTracker
from trackers.interface import NewIssue


def commenting(
    config: Any = None, *, mode: str = "create_and_comment", tracker: MemoryTracker | None = None, **issue: Any
) -> Context:
    ctx = context(config=config, tracker=tracker, subject="Re: ABC-1 printer")
    ctx.decisions.mapping = mapping(operating_mode=mode)
    ctx.decisions.issue = ctx.tracker.create_issue(NewIssue(project_key="ABC", summary="Printer", **issue))
    ctx.decisions.association = "issue key ABC-1 in the subject"
    return ctx
