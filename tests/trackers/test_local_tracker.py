"""Every operation of the Tracker interface, on the local tracker."""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jemh.models import Instance, TrackerKind
from trackers import errors
from trackers.interface import (
    Actor,
    AttachmentUpload,
    IssueUpdate,
    NewComment,
    NewIssue,
    Tracker,
    TrackerIssue,
    normalize_message_id,
)
from trackers.local import LocalTracker, services
from trackers.local import tracker as local_tracker
from trackers.models import Project
from trackers.registry import get_tracker


def new_issue(**overrides: Any) -> NewIssue:
    values: dict[str, Any] = {"project_key": "ABC", "summary": "Printer on fire", "description": "It *burns*."}
    values.update(overrides)
    return NewIssue(**values)


def test_registry_gives_the_local_tracker_and_refuses_jira_clearly(instance: Instance) -> None:
    tracker = get_tracker(instance)
    assert isinstance(tracker, LocalTracker) and isinstance(tracker, Tracker)
    jira = Instance.objects.create(name="Jira site", tracker_kind=TrackerKind.JIRA, base_url="https://x.example")
    with pytest.raises(errors.TrackerNotAvailable, match="Jira backend is not available"):
        get_tracker(jira)


def test_project_and_users(tracker: LocalTracker, users: dict[str, Any]) -> None:
    project = tracker.get_project("abc")
    assert (project.key, project.lead.account_id, project.default_priority) == ("ABC", "lena", "Medium")
    assert "Waiting for Customer" in project.statuses and "Bug" in project.issue_types
    with pytest.raises(errors.ProjectNotFound, match="project mapping"):
        tracker.get_project("NOPE")
    alice = tracker.find_user_by_email("  alice@EXAMPLE.org ")
    assert alice is not None
    assert (alice.account_id, alice.email, alice.display_name, alice.active) == (
        "alice",
        "Alice@example.org",
        "Alice Agent",
        True,
    )  # Django lower-cases the domain
    assert tracker.find_user_by_email("gone@example.org") is None  # inactive users are not matched
    assert tracker.find_user_by_email("stranger@example.net") is None
    assert tracker.get_user("bob").display_name == "bob"
    assert tracker.get_user("nobody") is None


def test_create_and_find_issue(tracker: LocalTracker, users: dict[str, Any]) -> None:
    created = tracker.create_issue(
        new_issue(
            issue_type="bug",
            priority="HIGH",
            reporter="alice",
            assignee="bob",
            labels=("printer", "on fire", "printer"),
            watchers=("bob",),
            custom_fields={"Ticket": "EXT-9"},
            source_message_id=42,
            message_ids=("<first@mail.example>",),
        )
    )
    assert created.key == "ABC-1"
    assert (created.issue_type, created.priority, created.status, created.resolution) == ("Bug", "High", "Open", "")
    assert created.reporter.account_id == "alice" and created.assignee.account_id == "bob"
    assert created.labels == ("printer", "on_fire")
    assert [w.account_id for w in created.watchers] == ["bob"]
    assert created.custom_fields == {"Ticket": "EXT-9"} and created.resolved_at is None
    second = tracker.create_issue(new_issue(summary="  Second\n issue  "))
    assert (second.key, second.summary, second.priority, second.issue_type) == (
        "ABC-2",
        "Second issue",
        "Medium",
        "Task",
    )
    assert tracker.get_issue("abc-1") == created
    assert tracker.find_issue("ABC-99") is None
    with pytest.raises(errors.IssueNotFound):
        tracker.get_issue("ABC-99")
    with CaptureQueriesContext(connection) as queries:
        found = tracker.find_issue_by_message_ids(["first@mail.example"])
    assert found == created and found.comment_count == 0  # reporter, assignee, watchers and all, in one look-up
    assert len(queries) == 1, [q["sql"][:60] for q in queries]
    assert found.reporter and found.reporter.email and found.assignee and found.assignee.display_name
    assert tracker.find_issue_by_foreign_key("Ticket", "EXT-9").key == "ABC-1"
    assert tracker.find_issue_by_foreign_key("Ticket", "EXT-9", project_key="ABC").key == "ABC-1"
    assert tracker.find_issue_by_foreign_key("Ticket", "EXT-10") is None


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"project_key": "ZZZ"}, errors.ProjectNotFound, "ZZZ"),
        ({"summary": "   "}, errors.InvalidFieldValue, "default summary"),
        ({"issue_type": "Epic"}, errors.InvalidFieldValue, "expected one of: Task, Bug"),
        ({"priority": "urgent"}, errors.InvalidFieldValue, "priority"),
        ({"reporter": "nobody"}, errors.UserNotFound, "nobody"),
        ({"assignee": "gone"}, errors.InvalidFieldValue, "inactive"),
        ({"email_sender_address": "not an address"}, errors.InvalidFieldValue, "not an email address"),
        ({"custom_fields": {"x": object()}}, errors.InvalidFieldValue, "JSON"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_error(
    tracker: LocalTracker, overrides: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        tracker.create_issue(new_issue(**overrides))
    assert tracker.find_issue("ABC-1") is None


def test_email_only_sender_and_participants(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(
        new_issue(
            email_sender_address="carol@customer.example",
            email_sender_name="Carol Customer",
            email_participants=("dave@customer.example", "DAVE@customer.example"),
        )
    )
    assert issue.reporter is None
    assert (issue.email_sender_address, issue.email_sender_name) == ("carol@customer.example", "Carol Customer")
    assert tracker.get_participants(issue.key) == ("dave@customer.example",)
    after = tracker.add_participants(issue.key, ["erin@customer.example", "Dave@Customer.example", " "])
    assert after == ("dave@customer.example", "erin@customer.example")
    assert tracker.set_participants(issue.key, ["frank@x.example"]) == ("frank@x.example",)
    assert tracker.get_issue(issue.key).email_participants == ("frank@x.example",)
    with pytest.raises(errors.InvalidFieldValue):
        tracker.add_participants(issue.key, ["frank at x"])


def test_comments(tracker: LocalTracker, users: dict[str, Any]) -> None:
    issue = tracker.create_issue(new_issue())
    by_user = tracker.add_comment(issue.key, NewComment(body="On it.", author="alice"))
    by_mail = tracker.add_comment(
        issue.key,
        NewComment(
            body="Still burning",
            author_email="carol@customer.example",
            author_name="Carol",
            source_message_id=7,
            message_ids=("<reply@customer.example>",),
        ),
    )
    assert by_user.author.account_id == "alice" and by_user.author_email == ""
    assert (by_mail.author, by_mail.author_email, by_mail.author_name, by_mail.source_message_id) == (
        None,
        "carol@customer.example",
        "Carol",
        7,
    )
    assert [c.id for c in tracker.list_comments(issue.key)] == [by_user.id, by_mail.id]
    found = tracker.find_issue_by_message_ids(["<unknown@x>", "<reply@customer.example>"])
    assert found.key == issue.key and found.comment_count == 2  # the loop limits need no count of their own
    with pytest.raises(errors.InvalidFieldValue, match="body"):
        tracker.add_comment(issue.key, NewComment(body="  "))
    with pytest.raises(errors.IssueNotFound):
        tracker.add_comment("ABC-404", NewComment(body="hello"))


def test_attachments(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(new_issue())
    comment = tracker.add_comment(issue.key, NewComment(body="see attached", author_email="c@customer.example"))
    logo = AttachmentUpload(filename="logo.png", content_type="image/png", data=b"\x89PNG fake image")
    log_file = AttachmentUpload(filename="server.log", content_type="text/plain", file=io.BytesIO(b"line\n" * 5000))
    stored = tracker.add_attachments(issue.key, [logo, log_file], comment_id=comment.id)
    assert [(a.filename, a.size, a.comment_id) for a in stored] == [
        ("logo.png", 15, comment.id),
        ("server.log", 25000, comment.id),
    ]
    assert tracker.attachment_hashes(issue.key) == {
        logo.content_sha256(),
        AttachmentUpload("x", data=b"line\n" * 5000).content_sha256(),
    }
    assert tracker.read_attachment(issue.key, stored[1].id) == b"line\n" * 5000
    assert tracker.list_attachments(issue.key) == stored
    with pytest.raises(errors.InvalidFieldValue, match="SHA-256"):
        tracker.add_attachments(issue.key, [AttachmentUpload("x.bin", data=b"abc", sha256="0" * 64)])
    assert len(tracker.list_attachments(issue.key)) == 2
    with pytest.raises(errors.NotFound):
        tracker.read_attachment(issue.key, "999999")
    with pytest.raises(ValueError, match="exactly one"):
        AttachmentUpload("x.bin")


def test_message_ids_recorded_and_found_in_order(tracker: LocalTracker) -> None:
    first = tracker.create_issue(new_issue())
    second = tracker.create_issue(new_issue(summary="other"))
    tracker.record_message_id(first.key, "<notify-1@jemh.example>")
    tracker.record_message_id(first.key, "notify-1@jemh.example")  # the same id again: no error, no second row
    tracker.record_message_id(second.key, " <notify-2@jemh.example> ", kind="outbound")
    assert tracker.find_issue_by_message_ids(["<nothing@x>"]) is None
    assert tracker.find_issue_by_message_ids([]) is None
    found = tracker.find_issue_by_message_ids(["<notify-2@jemh.example>", "<notify-1@jemh.example>"])
    assert found.key == second.key
    assert normalize_message_id(" <a@b> ") == "<a@b>" == normalize_message_id("a@b")
    with pytest.raises(errors.InvalidFieldValue):
        tracker.record_message_id(first.key, "<>")
    with pytest.raises(errors.InvalidFieldValue, match="kind"):
        tracker.record_message_id(first.key, "<x@y>", kind="sideways")


def test_the_association_look_up_reads_the_index_not_the_instance(tracker: LocalTracker) -> None:
    # A reply's look-up must not grow with the instance's history: with many Message-IDs recorded (and the table
    # never analysed, as right after a busy start), it reads the (instance, hash) index.
    issue = tracker.create_issue(new_issue())
    tracker.record_message_ids(issue.key, [f"<notify-{n}@jemh.example>" for n in range(400)])
    hashes = services.message_id_hashes("<notify-7@jemh.example>")
    params: dict[str, Any] = {"instance": tracker.instance.pk, "hashes": hashes, "ranks": [0] * len(hashes)}
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + local_tracker._ISSUE_BY_MESSAGE_ID, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "trackers_msgid_lookup" in plan, plan
    assert tracker.find_issue_by_message_ids(["<notify-7@jemh.example>"]).key == issue.key


def test_several_message_ids_recorded_at_once(tracker: LocalTracker) -> None:
    from trackers.models import IssueMessageId

    issue = tracker.create_issue(new_issue())
    tracker.record_message_id(issue.key, "<known@jemh.example>")
    tracker.record_message_ids(
        issue.key, ["<known@jemh.example>", "new-1@jemh.example", "<new-1@jemh.example>", "<new-2@jemh.example>"]
    )
    assert IssueMessageId.objects.filter(issue__key=issue.key).count() == 3
    assert tracker.find_issue_by_message_ids(["<new-2@jemh.example>"]).key == issue.key
    with pytest.raises(errors.InvalidFieldValue):
        tracker.record_message_ids(issue.key, ["<ok@x>", "<>"])


def test_several_users_found_by_email_at_once(tracker: LocalTracker, users: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("alice2", "alice@example.org")  # a younger account with the same address
    asked = ["ALICE@example.org", "bob@example.org", "gone@example.org", "nobody@example.org", "bob@example.org"]
    found = tracker.find_users_by_email(asked)
    assert set(found) == set(asked)
    assert found["ALICE@example.org"].account_id == "alice"  # the oldest account, case-insensitively
    assert found["bob@example.org"].account_id == "bob"
    assert found["gone@example.org"] is None and found["nobody@example.org"] is None  # inactive, unknown
    for address in asked:
        assert found[address] == LocalTracker(tracker.instance).find_user_by_email(address)


def test_several_issues_found_at_once(tracker: LocalTracker, users: dict[str, Any]) -> None:
    first = tracker.create_issue(new_issue(summary="First"))
    second = tracker.create_issue(new_issue(summary="Second"))
    tracker.update_issue(second.key, IssueUpdate(add_watchers=("bob", "alice")))
    found = tracker.find_issues([first.key, second.key.lower(), "SUP-999", " "])
    assert set(found) == {first.key, second.key.lower()}  # by the key as given; missing ones left out
    assert found[first.key] == tracker.find_issue(first.key)
    assert found[second.key.lower()] == tracker.find_issue(second.key)
    assert [w.account_id for w in found[second.key.lower()].watchers] == ["alice", "bob"]
    assert tracker.find_issues([]) == {}


def test_message_ids_are_recorded_only_with_an_existing_issue(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(new_issue())
    fresh = LocalTracker(tracker.instance)
    with pytest.raises(errors.IssueNotFound):
        fresh.record_message_ids("SUP-999", ["<a@b>"])
    fresh.find_issues([issue.key])
    fresh.record_message_ids(issue.key, ["<after-lookup@jemh.example>"])  # the id remembered from the look-up
    assert fresh.find_issue_by_message_ids(["<after-lookup@jemh.example>"]).key == issue.key


@pytest.mark.django_db(transaction=True)  # the deleted issue is noticed when the insert commits
def test_message_ids_of_an_issue_deleted_since_its_look_up_are_refused(tracker: LocalTracker) -> None:
    from trackers.local.services import delete_issue
    from trackers.models import Issue

    issue = tracker.create_issue(new_issue())
    fresh = LocalTracker(tracker.instance)
    fresh.find_issues([issue.key])
    delete_issue(Issue.objects.get(key=issue.key))
    with pytest.raises(errors.IssueNotFound):
        fresh.record_message_ids(issue.key, ["<after-delete@jemh.example>"])


@pytest.mark.django_db(transaction=True)
def test_a_comment_on_an_issue_deleted_since_its_look_up_is_refused(tracker: LocalTracker) -> None:
    """A reply's association found the issue; it is deleted before the comment is written: IssueNotFound, no
    comment (the insert is refused at once, not at a later commit)."""
    from trackers.local.services import delete_issue
    from trackers.models import Comment, Issue

    issue = tracker.create_issue(new_issue(message_ids=("<request@customer.example>",)))
    fresh = LocalTracker(tracker.instance)
    assert fresh.find_issue_by_message_ids(["<request@customer.example>"]).key == issue.key
    delete_issue(Issue.objects.get(key=issue.key))
    with pytest.raises(errors.IssueNotFound):
        fresh.add_comment(issue.key, NewComment(body="thanks", author_email="c@customer.example"))
    assert not Comment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_attachments_to_an_issue_deleted_since_its_look_up_are_refused(tracker: LocalTracker) -> None:
    """Attachments go onto the issue a reply's association found (no second look-up); when it is deleted meanwhile,
    the commit's foreign-key check refuses them: IssueNotFound, no row, and no content left in storage."""
    from jemh.storage import blob_storage
    from trackers.local.services import delete_issue
    from trackers.models import Attachment, Issue

    issue = tracker.create_issue(new_issue(message_ids=("<request@customer.example>",)))
    fresh = LocalTracker(tracker.instance)
    assert fresh.find_issue_by_message_ids(["<request@customer.example>"]).key == issue.key
    delete_issue(Issue.objects.get(key=issue.key))
    upload = AttachmentUpload(filename="log.txt", content_type="text/plain", data=b"line\n" * 100)
    stored: list[str] = []
    original = blob_storage().save_stream

    def remember(name: str, content: Any) -> str:
        stored.append(original(name, content))
        return stored[-1]

    with mock.patch.object(blob_storage(), "save_stream", remember), pytest.raises(errors.IssueNotFound):
        fresh.add_attachments(issue.key, [upload], idempotency_key="inbound:5")
    assert not Attachment.objects.exists()
    assert len(stored) == 1 and not blob_storage().exists(stored[0])


def test_attachments_to_a_reply_just_added_need_no_look_up(tracker: LocalTracker) -> None:
    """A reply's comment and its attachments: the issue the association found and the comment just added are not
    read again, and the rows need no savepoints (a copy under the idempotency key is skipped in the INSERT)."""
    from trackers.models import Attachment

    issue = tracker.create_issue(new_issue(message_ids=("<request@customer.example>",)))
    fresh = LocalTracker(tracker.instance)
    assert fresh.find_issue_by_message_ids(["<request@customer.example>"]).key == issue.key
    comment = fresh.add_comment(issue.key, NewComment(body="log attached", author_email="c@customer.example"))
    uploads = [AttachmentUpload(filename=f"log{n}.txt", content_type="text/plain", data=b"%d" % n) for n in (1, 2)]
    with CaptureQueriesContext(connection) as queries:
        attached = fresh.add_attachments(issue.key, uploads, comment_id=comment.id, idempotency_key="inbound:7")
    statements = [q["sql"].split(None, 1)[0].upper() for q in queries]
    # two rows and their event; the one savepoint is the rows' transaction (inside the test's own)
    assert statements == ["SAVEPOINT", "INSERT", "INSERT", "INSERT", "RELEASE"], statements
    assert [a.filename for a in attached] == ["log1.txt", "log2.txt"]
    assert set(Attachment.objects.values_list("comment_id", flat=True)) == {int(comment.id)}


def test_attachment_content_is_flushed_to_disk_before_its_row(
    tracker: LocalTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from jemh.storage import blob_storage
    from trackers.models import Attachment

    issue = tracker.create_issue(new_issue())
    flushed: list[str] = []
    real = os.fdatasync

    def spy(fd: int) -> None:
        assert not Attachment.objects.exists(), "flushed after the row was written"
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", spy)
    (attached,) = tracker.add_attachments(issue.key, [AttachmentUpload("log.txt", data=b"line\n")])
    assert flushed == [blob_storage().path(Attachment.objects.get(pk=attached.id).blob_name)]


def test_update_issue_fields(tracker: LocalTracker, users: dict[str, Any]) -> None:
    issue = tracker.create_issue(new_issue(labels=("a", "b")))
    updated = tracker.update_issue(
        issue.key,
        IssueUpdate(
            priority="highest",
            issue_type="Incident",
            assignee="alice",
            add_labels=("c",),
            remove_labels=("a",),
            add_watchers=("bob", "alice"),
            summary="Printer really on fire",
        ),
        actor=Actor.user("bob"),
    )
    assert (updated.priority, updated.issue_type, updated.assignee.account_id) == ("Highest", "Incident", "alice")
    assert updated.labels == ("b", "c") and updated.summary == "Printer really on fire"
    assert sorted(w.account_id for w in updated.watchers) == ["alice", "bob"]
    cleared = tracker.update_issue(issue.key, IssueUpdate(assignee=None, labels=("only",), remove_watchers=("bob",)))
    assert cleared.assignee is None and cleared.labels == ("only",)
    assert [w.account_id for w in cleared.watchers] == ["alice"]
    untouched = tracker.update_issue(issue.key, IssueUpdate())
    assert untouched.assignee is None and untouched.priority == "Highest"
    with pytest.raises(errors.UserNotFound):
        tracker.update_issue(issue.key, IssueUpdate(add_watchers=("nobody",)))


def test_custom_fields(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(new_issue(custom_fields={"Ticket": "EXT-1", "Team": "blue"}))
    updated = tracker.update_custom_fields(issue.key, {"Team": None, "Ticket": "EXT-2", "Count": 3})
    assert updated.custom_fields == {"Ticket": "EXT-2", "Count": 3}
    assert tracker.get_custom_fields(issue.key) == {"Ticket": "EXT-2", "Count": 3}
    assert tracker.find_issue_by_foreign_key("Ticket", "EXT-2").key == issue.key
    assert tracker.find_issue_by_foreign_key("Ticket", "EXT-1") is None


def test_issues_of_another_instance_are_invisible(tracker: LocalTracker, users: dict[str, Any]) -> None:
    other = Instance.objects.create(name="Other tenant")
    Project.objects.create(instance=other, key="ABC", name="Their ABC")
    theirs = LocalTracker(other).create_issue(new_issue(message_ids=("<shared@x>",), custom_fields={"T": "1"}))
    assert theirs.key == "ABC-1"
    assert tracker.find_issue("ABC-1") is None
    assert tracker.find_issue_by_message_ids(["<shared@x>"]) is None
    assert tracker.find_issue_by_foreign_key("T", "1") is None
    mine = tracker.create_issue(new_issue())
    assert mine.key == "ABC-1" and isinstance(mine, TrackerIssue)
