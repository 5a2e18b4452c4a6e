"""The local tracker's vocabulary and its one workflow, declared in one place.

Open ⇄ In Progress ⇄ Waiting for Customer → Resolved → Closed, with Reopen from Resolved and Closed.
Entering Resolved or Closed sets the resolution (default "Done") and the resolution date (kept when
going from Resolved to Closed); leaving them for an open status clears both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models


class Status(models.TextChoices):
    OPEN = "Open"
    IN_PROGRESS = "In Progress"
    WAITING_FOR_CUSTOMER = "Waiting for Customer"
    RESOLVED = "Resolved"
    CLOSED = "Closed"


class Resolution(models.TextChoices):
    DONE = "Done"
    WONT_DO = "Won't Do"
    DUPLICATE = "Duplicate"
    CANNOT_REPRODUCE = "Cannot Reproduce"


class IssueType(models.TextChoices):
    TASK = "Task"
    BUG = "Bug"
    STORY = "Story"
    QUESTION = "Question"
    INCIDENT = "Incident"


class Priority(models.TextChoices):
    HIGHEST = "Highest"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    LOWEST = "Lowest"


DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True)
class WorkflowTransition:
    id: str
    name: str
    sources: frozenset[str]
    target: str


_OPEN_ONES = frozenset({Status.OPEN, Status.IN_PROGRESS, Status.WAITING_FOR_CUSTOMER})

TRANSITIONS: tuple[WorkflowTransition, ...] = (
    WorkflowTransition(
        "start", "Start Progress", frozenset({Status.OPEN, Status.WAITING_FOR_CUSTOMER}), Status.IN_PROGRESS
    ),
    WorkflowTransition("stop", "Stop Progress", frozenset({Status.IN_PROGRESS}), Status.OPEN),
    WorkflowTransition(
        "wait", "Wait for Customer", frozenset({Status.OPEN, Status.IN_PROGRESS}), Status.WAITING_FOR_CUSTOMER
    ),
    WorkflowTransition("resolve", "Resolve", _OPEN_ONES, Status.RESOLVED),
    WorkflowTransition("close", "Close", _OPEN_ONES | {Status.RESOLVED}, Status.CLOSED),
    WorkflowTransition("reopen", "Reopen", frozenset(DONE_STATUSES), Status.OPEN),
)


def transitions_from(status: str) -> list[WorkflowTransition]:
    return [t for t in TRANSITIONS if status in t.sources]


def find_transition(status: str, wanted: str) -> WorkflowTransition | None:
    """The transition from ``status`` whose target status, name or id is ``wanted`` (case-insensitive)."""
    needle = wanted.strip().casefold()
    available = transitions_from(status)
    for transition in available:
        if transition.target.casefold() == needle:
            return transition
    for transition in available:
        if needle in {transition.name.casefold(), transition.id}:
            return transition
    return None


def allowed_targets(status: str) -> list[str]:
    return [t.target for t in transitions_from(status)]


@dataclass(frozen=True)
class ResolutionState:
    resolution: str
    resolved_at: datetime | None


def resolution_after(
    old_status: str, new_status: str, current: ResolutionState, now: datetime, resolution: str | None = None
) -> ResolutionState:
    """What resolution and resolution date an issue has after moving from old_status to new_status."""
    if new_status in DONE_STATUSES:
        if old_status in DONE_STATUSES and current.resolved_at is not None:
            return ResolutionState(resolution or current.resolution or Resolution.DONE, current.resolved_at)
        return ResolutionState(resolution or Resolution.DONE, now)
    return ResolutionState("", None)


def canonical(value: str, choices: type[models.TextChoices], what: str) -> str:
    """The choice matching ``value`` case-insensitively; ValueError naming the accepted values."""
    needle = value.strip().casefold()
    for choice in choices.values:
        if choice.casefold() == needle:
            return choice
    raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(choices.values)}")
