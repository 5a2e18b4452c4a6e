"""The workflow: allowed moves, refused moves with a clear answer, resolution and its date."""

from __future__ import annotations

import pytest

from trackers import errors
from trackers.interface import NewIssue
from trackers.local import LocalTracker
from trackers.workflow import TRANSITIONS, Status, allowed_targets, find_transition


def test_workflow_declaration() -> None:
    assert allowed_targets(Status.OPEN) == ["In Progress", "Waiting for Customer", "Resolved", "Closed"]
    assert allowed_targets(Status.CLOSED) == ["Open"]
    assert find_transition(Status.RESOLVED, "reopen").target == Status.OPEN  # by name
    assert find_transition(Status.OPEN, "in progress").target == Status.IN_PROGRESS  # by target status
    assert find_transition(Status.CLOSED, "Resolved") is None
    assert all(t.target not in t.sources for t in TRANSITIONS)


def test_transitions_and_resolution_date(tracker: LocalTracker) -> None:
    key = tracker.create_issue(NewIssue("ABC", "x")).key
    assert [t.to_status for t in tracker.list_transitions(key)] == allowed_targets(Status.OPEN)
    assert tracker.transition_issue(key, "In Progress").status == "In Progress"
    waiting = tracker.transition_issue(key, "waiting for customer")
    assert (waiting.status, waiting.resolution, waiting.resolved_at) == ("Waiting for Customer", "", None)
    resolved = tracker.transition_issue(key, "Resolved", resolution="won't do")
    assert (resolved.status, resolved.resolution) == ("Resolved", "Won't Do")
    assert resolved.resolved_at is not None and resolved.is_resolved
    closed = tracker.transition_issue(key, "Close")
    assert (closed.status, closed.resolution, closed.resolved_at) == ("Closed", "Won't Do", resolved.resolved_at)
    reopened = tracker.transition_issue(key, "Open")
    assert (reopened.status, reopened.resolution, reopened.resolved_at) == ("Open", "", None)
    again = tracker.transition_issue(key, "Resolved")
    assert again.resolution == "Done" and again.resolved_at > resolved.resolved_at


def test_invalid_transitions_are_refused_and_change_nothing(tracker: LocalTracker) -> None:
    key = tracker.create_issue(NewIssue("ABC", "x")).key
    tracker.transition_issue(key, "Closed")
    with pytest.raises(errors.InvalidTransition, match="from Closed it can move to Open"):
        tracker.transition_issue(key, "In Progress")
    with pytest.raises(errors.InvalidTransition, match="already Closed"):
        tracker.transition_issue(key, "closed")
    with pytest.raises(errors.InvalidTransition):
        tracker.transition_issue(key, "Teleport")
    with pytest.raises(errors.InvalidFieldValue, match="resolution"):
        tracker.transition_issue(key, "Open", resolution="Magic")
    assert tracker.get_issue(key).status == "Closed"
