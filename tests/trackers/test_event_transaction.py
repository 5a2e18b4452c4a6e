"""An issue change and its notification event (IssueEvent) are written in one transaction: both or neither.

Regression (issue 11, finding 8): the event was recorded after the change's transaction had committed, in a
transaction of its own, so a crash between the two lost the notification.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection, transaction

from notifications import intake
from notifications import tasks as notification_tasks
from notifications.choices import EventStatus
from notifications.models import IssueEvent, NotificationMapping
from trackers import errors
from trackers.interface import AttachmentUpload, IssueUpdate, NewComment, NewIssue
from trackers.local import LocalTracker
from trackers.models import Attachment, Comment, Issue
from trackers.signals import IssueEventData, issue_event_in_transaction

ROOT = Path(__file__).resolve().parents[2]


def event_kinds(key: str = "ABC-1") -> list[str]:
    return list(IssueEvent.objects.filter(issue_key=key).order_by("pk").values_list("kind", flat=True))


def test_every_change_records_its_event_inside_its_own_transaction(tracker: LocalTracker) -> None:
    seen: list[tuple[str, bool, int]] = []

    def inside(sender: Any, event: IssueEventData, **kwargs: Any) -> None:  # runs after the notifications' receiver
        seen.append((event.kind, connection.in_atomic_block, IssueEvent.objects.filter(kind=event.kind).count()))

    issue_event_in_transaction.connect(inside, weak=False, dispatch_uid="tests.inside")
    try:
        issue = tracker.create_issue(NewIssue("ABC", "x"))
        tracker.add_comment(issue.key, NewComment("hello", author_email="c@customer.example"))
        tracker.update_issue(issue.key, IssueUpdate(priority="High"))
        tracker.add_attachments(issue.key, [AttachmentUpload("a.txt", data=b"a")])
    finally:
        issue_event_in_transaction.disconnect(dispatch_uid="tests.inside")
    assert seen == [("created", True, 1), ("commented", True, 1), ("updated", True, 1), ("updated", True, 2)]
    assert event_kinds() == ["created", "commented", "updated", "updated"]


@pytest.mark.parametrize("change", ["create", "comment", "update", "attach"])
def test_a_failure_after_the_event_insert_rolls_back_the_change_with_its_event(
    tracker: LocalTracker, change: str
) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "x"))
    before = (IssueEvent.objects.count(), Comment.objects.count(), Attachment.objects.count())

    def crash(sender: Any, event: IssueEventData, **kwargs: Any) -> None:
        assert IssueEvent.objects.count() == before[0] + 1, "the event is written before this receiver runs"
        raise RuntimeError("crash between the event insert and the commit")

    issue_event_in_transaction.connect(crash, weak=False, dispatch_uid="tests.crash")
    try:
        with pytest.raises(RuntimeError, match="crash between"):
            if change == "create":
                tracker.create_issue(NewIssue("ABC", "y"))
            elif change == "comment":
                tracker.add_comment(issue.key, NewComment("hello", author_email="c@customer.example"))
            elif change == "update":
                tracker.update_issue(issue.key, IssueUpdate(priority="High"))
            else:
                tracker.add_attachments(issue.key, [AttachmentUpload("a.txt", data=b"a")])
    finally:
        issue_event_in_transaction.disconnect(dispatch_uid="tests.crash")
    assert (IssueEvent.objects.count(), Comment.objects.count(), Attachment.objects.count()) == before
    assert Issue.objects.count() == 1 and tracker.get_issue(issue.key).priority == "Medium"


def test_database_trouble_recording_the_event_fails_the_change_for_a_retry(
    tracker: LocalTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline retries a TemporaryTrackerError under the same idempotency key: the retry makes both."""
    insert = intake.insert_row

    def broken(row: Any) -> None:
        if isinstance(row, IssueEvent):
            raise OperationalError("server closed the connection unexpectedly")
        insert(row)

    monkeypatch.setattr(intake, "insert_row", broken)
    with pytest.raises(errors.TemporaryTrackerError):
        tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:7")
    assert not Issue.objects.exists() and not IssueEvent.objects.exists()
    monkeypatch.setattr(intake, "insert_row", insert)
    issue = tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:7")
    tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:7")  # a replay: no second event
    assert issue.key == "ABC-1" and event_kinds() == ["created"]


def test_an_event_that_cannot_be_valid_is_logged_and_the_change_kept(
    tracker: LocalTracker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def invalid(**kwargs: Any) -> None:
        raise intake.InvalidEvent("unknown event kind 'exploded'")

    monkeypatch.setattr(intake, "record_event", invalid)
    issue = tracker.create_issue(NewIssue("ABC", "x"))
    assert Issue.objects.filter(key=issue.key).exists() and not IssueEvent.objects.exists()
    assert "issue event not recorded: unknown event kind 'exploded'" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_flush_is_requested_only_once_the_change_committed(
    tracker: LocalTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    NotificationMapping.objects.create(instance=tracker.instance, name="All", batch_window_seconds=0)
    requested: list[bool] = []
    monkeypatch.setattr(notification_tasks, "request_flush", lambda: requested.append(connection.in_atomic_block))
    with transaction.atomic():
        tracker.create_issue(NewIssue("ABC", "x"))
        assert IssueEvent.objects.get().status == EventStatus.PENDING and requested == []
    assert requested == [False]
    with pytest.raises(RuntimeError), transaction.atomic():
        tracker.add_comment("ABC-1", NewComment("hello", author_email="c@customer.example"))
        raise RuntimeError("rolled back")
    assert requested == [False] and event_kinds() == ["created"] and not Comment.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("point", "made"),
    [("issue-written", False), ("event-written", False), ("committed", True)],
)
def test_a_worker_killed_during_a_change_leaves_both_or_neither(
    tracker: LocalTracker, request: pytest.FixtureRequest, point: str, made: bool
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the subprocess shares the test database, which is in memory with SQLite")
    server = request.getfixturevalue("postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DATABASE_URL": server.url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"],
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "SECRET_KEY": django_settings.SECRET_KEY,
            "JEMH_ENCRYPTION_KEYS": ",".join(django_settings.JEMH_ENCRYPTION_KEYS),
            "PYTHONPATH": str(ROOT),
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.trackers.event_crash_worker", str(tracker.instance.pk), point],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9, done.stderr.decode()
    assert Issue.objects.filter(idempotency_key="crash:1").exists() is made
    assert event_kinds() == (["created"] if made else []), "never an issue without its event, nor the reverse"
