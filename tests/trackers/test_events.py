"""Issue events from the Tracker API: one per change, after commit, with the right kind and changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from trackers.interface import Actor, AttachmentUpload, IssueUpdate, NewComment, NewIssue
from trackers.local import LocalTracker
from trackers.local import services as local_services
from trackers.models import Issue
from trackers.signals import EventKind, FieldChange, IssueEventData, issue_event


@pytest.fixture()
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_each_api_change_emits_one_event(
    tracker: LocalTracker, users: dict[str, Any], events: list[IssueEventData], commit: Any
) -> None:
    with commit():
        issue = tracker.create_issue(
            NewIssue("ABC", "x", email_sender_address="c@customer.example", source_message_id=11),
            idempotency_key="inbound:11",
        )
        tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:11")  # replay: no second event
    created = events[-1]
    assert len(events) == 1 and created.kind == EventKind.CREATED
    assert (created.issue_key, created.project_key, created.instance_id) == ("ABC-1", "ABC", tracker.instance.pk)
    assert (created.actor_email, created.actor_user_id, created.source_message_id, created.via) == (
        "c@customer.example",
        None,
        11,
        "api",
    )
    with commit():
        comment = tracker.add_comment(issue.key, NewComment("hi", author="alice"))
    assert (events[-1].kind, events[-1].comment_id, events[-1].actor_user_id) == (
        EventKind.COMMENTED,
        int(comment.id),
        users["alice"].pk,
    )
    with commit():
        tracker.update_issue(
            issue.key, IssueUpdate(priority="High", assignee="bob", add_labels=("x",)), actor=Actor.user("alice")
        )
    assert events[-1].kind == EventKind.UPDATED
    assert events[-1].changes == (
        FieldChange("priority", "Medium", "High"),
        FieldChange("assignee", None, "bob"),
        FieldChange("labels", [], ["x"]),
    )
    with commit():
        tracker.update_issue(issue.key, IssueUpdate(priority="High"))  # no real change: no event
        tracker.add_participants(issue.key, ["d@customer.example"])
        tracker.update_custom_fields(issue.key, {"Ticket": "T-1"})
    assert [e.changed_fields for e in events[-2:]] == [("email_participants",), ("custom_fields.Ticket",)]
    with commit():
        tracker.transition_issue(issue.key, "In Progress")
        tracker.transition_issue(issue.key, "Resolved")
        tracker.transition_issue(issue.key, "Closed")
        tracker.transition_issue(issue.key, "Reopen")
    assert [e.kind for e in events[-4:]] == ["updated", "resolved", "updated", "updated"]
    resolved = events[-3]
    assert resolved.change("status") == FieldChange("status", "In Progress", "Resolved")
    assert type(resolved.change("status").new) is str  # plain values, ready for JSON
    assert resolved.change("resolution").new == "Done" and resolved.change("resolved_at").old is None
    with commit():
        (attachment,) = tracker.add_attachments(issue.key, [AttachmentUpload("a.txt", data=b"a")])
        tracker.record_message_id(issue.key, "<n@us>")  # bookkeeping, not a change of the issue
    assert events[-1].attachment_ids == (int(attachment.id),)
    assert events[-1].change("attachments") == FieldChange("attachments", None, ["a.txt"])
    assert len(events) == 10


def test_events_wait_for_commit_and_vanish_on_rollback(
    tracker: LocalTracker, events: list[IssueEventData], commit: Any
) -> None:
    with commit() as callbacks:
        tracker.create_issue(NewIssue("ABC", "x"))
        assert events == []  # queued until the transaction commits
    assert callbacks and [e.kind for e in events] == ["created"]
    with commit(), pytest.raises(RuntimeError), transaction.atomic():
        tracker.transition_issue("ABC-1", "Resolved")
        raise RuntimeError("rolled back")
    assert len(events) == 1 and tracker.get_issue("ABC-1").status == "Open"


def test_delete_emits_deleted_and_a_failing_receiver_harms_nothing(
    tracker: LocalTracker, events: list[IssueEventData], commit: Any
) -> None:
    def broken(sender: Any, event: IssueEventData, **kwargs: Any) -> None:
        raise ValueError("a receiver bug")

    issue_event.connect(broken, weak=False, dispatch_uid="broken")
    try:
        with commit():
            tracker.create_issue(NewIssue("ABC", "x"))
            tracker.add_attachments("ABC-1", [AttachmentUpload("a.txt", data=b"a")])
            local_services.delete_issue(Issue.objects.get(key="ABC-1"))
    finally:
        issue_event.disconnect(dispatch_uid="broken")
    assert [e.kind for e in events] == ["created", "updated", "deleted"]
    assert events[-1].issue_key == "ABC-1" and events[-1].issue_id is None
    assert tracker.find_issue("ABC-1") is None
