"""The Tracker contract: one behaviour suite every tracker backend passes (the local tracker now, Jira later).

Shaped like Django's ``tests/cache`` ``BaseCacheTests``: :class:`TrackerContract` is a base class of tests written
against :class:`trackers.interface.Tracker` only. A backend's test module subclasses it (as ``Test...``), provides
the ``tracker`` fixture and implements the hooks below (a project with a key, users, custom fields, deleting an
issue, another tracker object), and so runs every test of the contract against that backend::

    class TestLocalTracker(TrackerContract):
        @pytest.fixture()
        def tracker(self, db): ...
        def make_project(self, key, name, lead): ...

Vocabulary the backends differ in (issue types, priorities, statuses, transitions) is read through the interface
(``get_project``, ``list_transitions``) or from the class attributes below, never assumed.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import pytest

from trackers import errors
from trackers.interface import (
    ERASED_SENDER,
    REDACTED_TEXT,
    Actor,
    AttachmentUpload,
    IssueUpdate,
    NewComment,
    NewIssue,
    Permission,
    Tracker,
    TrackerIssue,
)

T = TypeVar("T")

MISSING_KEY_NUMBER = 999_999  # an issue number no test creates


def interface_methods() -> set[str]:
    """The public methods the Tracker interface declares."""
    return {name for name, value in vars(Tracker).items() if not name.startswith("_") and inspect.isfunction(value)}


class TrackerContract:
    """The behaviour every Tracker backend promises. Subclass it in a ``test_*`` module; see the module docstring."""

    PROJECT: ClassVar[str] = "CTR"
    OTHER_PROJECT: ClassVar[str] = "OTR"
    CUSTOM_FIELDS: ClassVar[tuple[str, ...]] = ("Ticket", "Team")
    #: a status of the backend's workflow that resolves an issue, reachable from a new issue's status
    DONE_STATUS: ClassVar[str] = "Resolved"
    #: a resolution the backend accepts besides its default
    OTHER_RESOLUTION: ClassVar[str] = "Won't Do"

    # -- hooks a backend implements -----------------------------------------------------------------------
    @pytest.fixture()
    def tracker(self) -> Tracker:
        """The tracker under test (override in the subclass; request whatever the backend needs)."""
        raise NotImplementedError

    def make_project(self, key: str, name: str, lead: str | None) -> None:
        """Create a project with this key (``lead``: an account id) in the tracker under test."""
        raise NotImplementedError

    def make_user(self, username: str, email: str, display_name: str, *, active: bool = True) -> str:
        """Create a user; return its account id."""
        raise NotImplementedError

    def make_custom_field(self, name: str) -> None:
        """Make the custom field ``name`` usable on issues of the contract's projects."""
        raise NotImplementedError

    def delete_issue(self, key: str) -> None:
        """Delete the issue behind the tracker's back (as an agent in the tracker's own UI would)."""
        raise NotImplementedError

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        """Give the account these project permissions (``Permission`` values) in the project, as the tracker's
        admin would (a backend whose permissions are not per project may give them in every project)."""
        raise NotImplementedError

    def new_tracker(self) -> Tracker:
        """Another tracker object for the same tracker, as another worker or unit of work would have."""
        raise NotImplementedError

    def in_parallel(self, works: Sequence[Callable[[], T]]) -> list[T]:
        """Run the callables at the same time (one thread each, released together); their results in order.

        A backend overrides it when its threads need care (e.g. closing their database connections)."""
        barrier = threading.Barrier(len(works))
        results: list[Any] = [None] * len(works)

        def run(i: int) -> None:
            try:
                barrier.wait(timeout=30)
                results[i] = works[i]()
            except BaseException as exc:  # reported below
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, failures
        return results

    # -- the world every test starts from -------------------------------------------------------------------
    @pytest.fixture(autouse=True)
    def _world(self, tracker: Tracker) -> None:
        self.lead = self.make_user("lena", "lena@example.org", "Lena Lead")
        self.alice = self.make_user("alice", "Alice@Example.org", "Alice Agent")
        self.bob = self.make_user("bob", "bob@example.org", "Bob Builder")
        self.gone = self.make_user("gone", "gone@example.org", "Gone Away", active=False)
        self.make_project(self.PROJECT, "Contract project", self.lead)
        self.make_project(self.OTHER_PROJECT, "Other project", None)
        for name in self.CUSTOM_FIELDS:
            self.make_custom_field(name)

    def new(self, **overrides: Any) -> NewIssue:
        values: dict[str, Any] = {"project_key": self.PROJECT, "summary": "Printer on fire"}
        values.update({"description": "It *burns*.", **overrides})
        return NewIssue(**values)

    def missing_key(self) -> str:
        return f"{self.PROJECT}-{MISSING_KEY_NUMBER}"

    # -- the suite covers the whole interface ---------------------------------------------------------------
    #: every interface method → the tests of this contract that exercise it
    COVERAGE: ClassVar[dict[str, tuple[str, ...]]] = {
        "get_project": ("test_project_is_found_by_key_in_any_case",),
        "project_keys": ("test_project_keys_list_the_projects_sorted",),
        "find_user_by_email": ("test_user_is_found_by_email_case_insensitively",),
        "find_users_by_email": ("test_several_users_are_found_by_email_at_once",),
        "get_user": ("test_user_is_found_by_account_id",),
        "project_permissions": ("test_project_permissions_are_those_granted",),
        "user_lookup_note": ("test_a_user_lookup_note_is_empty_for_a_user_found",),
        "find_issue": ("test_issue_is_found_by_key_in_any_case",),
        "find_issues": ("test_several_issues_are_found_at_once",),
        "get_issue": ("test_issue_is_found_by_key_in_any_case",),
        "find_issue_by_message_ids": ("test_issue_is_found_by_message_id_first_match_wins",),
        "find_issue_by_foreign_key": ("test_issue_is_found_by_foreign_key_most_recent_first",),
        "create_issue": ("test_create_issue_keeps_every_field",),
        "add_comment": ("test_comments_by_users_and_email_only_authors",),
        "list_comments": ("test_comments_by_users_and_email_only_authors",),
        "count_mail_comments": ("test_comments_from_mail_are_counted",),
        "add_attachments": ("test_attachments_keep_names_types_sizes_and_content",),
        "list_attachments": ("test_attachments_keep_names_types_sizes_and_content",),
        "attachment_hashes": ("test_attachments_keep_names_types_sizes_and_content",),
        "read_attachment": ("test_attachments_keep_names_types_sizes_and_content",),
        "record_message_id": ("test_recorded_message_ids_find_their_issue",),
        "record_message_ids": ("test_several_message_ids_recorded_at_once",),
        "update_issue": ("test_update_issue_changes_only_what_it_names",),
        "list_transitions": ("test_transition_by_target_status_and_by_transition_name",),
        "transition_issue": ("test_transition_by_target_status_and_by_transition_name",),
        "get_participants": ("test_email_participants",),
        "add_participants": ("test_email_participants",),
        "set_participants": ("test_email_participants",),
        "get_custom_fields": ("test_custom_fields_are_set_and_removed",),
        "update_custom_fields": ("test_custom_fields_are_set_and_removed",),
        "find_subject": ("test_a_subject_is_found_as_reporter_participant_and_comment_author",),
        "erase_subject": (
            "test_erasing_a_subject_clears_its_fields_and_replaces_its_comment_authors",
            "test_erasing_a_subject_with_redaction_replaces_the_texts_it_wrote",
        ),
    }

    def test_every_interface_method_is_exercised(self) -> None:
        """A method added to the interface fails here until a contract test covers it."""
        assert set(self.COVERAGE) == interface_methods()
        for method, tests in self.COVERAGE.items():
            for name in tests:
                test = getattr(TrackerContract, name, None)
                assert test is not None, f"{method}: no contract test {name}"
                assert f".{method}(" in inspect.getsource(test), f"{name} does not call {method}"

    def test_the_tracker_is_a_tracker(self, tracker: Tracker) -> None:
        assert isinstance(tracker, Tracker)
        missing = {name for name in interface_methods() if not callable(getattr(tracker, name, None))}
        assert not missing

    # -- projects and users ---------------------------------------------------------------------------------
    def test_project_is_found_by_key_in_any_case(self, tracker: Tracker) -> None:
        project = tracker.get_project(self.PROJECT.lower())
        assert (project.key, project.name) == (self.PROJECT, "Contract project")
        assert project.lead is not None and project.lead.account_id == self.lead
        assert project.default_issue_type in project.issue_types
        assert project.default_priority in project.priorities
        assert self.DONE_STATUS in project.statuses
        assert tracker.get_project(self.OTHER_PROJECT).lead is None

    def test_project_keys_list_the_projects_sorted(self, tracker: Tracker) -> None:
        keys = tracker.project_keys()
        assert {self.PROJECT, self.OTHER_PROJECT} <= set(keys)
        assert list(keys) == sorted(keys) and len(set(keys)) == len(keys)

    def test_project_permissions_are_those_granted(self, tracker: Tracker) -> None:
        """What an account may do in a project (directives within the sender's rights, issue 14)."""
        asked = (Permission.ADD_COMMENTS, Permission.EDIT_ISSUES, Permission.ASSIGN_ISSUES)
        assert tracker.project_permissions(self.bob, self.PROJECT, asked) == frozenset()
        self.grant(self.bob, self.PROJECT, Permission.ADD_COMMENTS)
        assert tracker.project_permissions(self.bob, self.PROJECT.lower(), asked) == {Permission.ADD_COMMENTS}
        assert tracker.project_permissions(self.lead, self.PROJECT, asked) == set(asked)  # the project's lead
        assert tracker.project_permissions(self.bob, self.PROJECT, ("NOT_A_PERMISSION",)) == frozenset()
        self.grant(self.gone, self.PROJECT, Permission.ADD_COMMENTS)
        assert tracker.project_permissions(self.gone, self.PROJECT, asked) == frozenset()  # inactive
        assert tracker.project_permissions("nobody-at-all", self.PROJECT, asked) == frozenset()
        with pytest.raises(errors.ProjectNotFound):
            tracker.project_permissions(self.bob, "NOPE", asked)

    def test_unknown_project_is_project_not_found(self, tracker: Tracker) -> None:
        with pytest.raises(errors.ProjectNotFound):
            tracker.get_project("NOPE")
        with pytest.raises(errors.ProjectNotFound):
            tracker.create_issue(self.new(project_key="NOPE"))
        with pytest.raises(errors.ProjectNotFound):
            tracker.find_issue_by_foreign_key("Ticket", "EXT-1", project_key="NOPE")

    def test_user_is_found_by_email_case_insensitively(self, tracker: Tracker) -> None:
        alice = tracker.find_user_by_email("  alice@EXAMPLE.org ")
        assert alice is not None
        assert (alice.account_id, alice.email.lower(), alice.display_name, alice.active) == (
            self.alice,
            "alice@example.org",
            "Alice Agent",
            True,
        )
        assert tracker.find_user_by_email("stranger@example.net") is None

    def test_a_user_lookup_note_is_empty_for_a_user_found(self, tracker: Tracker) -> None:
        assert tracker.find_user_by_email("alice@example.org") is not None
        assert tracker.user_lookup_note("alice@example.org") == ""
        assert tracker.find_user_by_email("stranger@example.net") is None
        assert isinstance(tracker.user_lookup_note("stranger@example.net"), str)

    def test_inactive_users_are_not_found_by_email(self, tracker: Tracker) -> None:
        assert tracker.find_user_by_email("gone@example.org") is None

    def test_several_users_are_found_by_email_at_once(self, tracker: Tracker) -> None:
        asked = ["ALICE@example.org", "bob@example.org", "gone@example.org", "nobody@example.org", "bob@example.org"]
        found = tracker.find_users_by_email(asked)
        assert set(found) == set(asked)  # by the address as given
        assert found["ALICE@example.org"] is not None and found["ALICE@example.org"].account_id == self.alice
        assert found["bob@example.org"] is not None and found["bob@example.org"].account_id == self.bob
        assert found["gone@example.org"] is None and found["nobody@example.org"] is None
        for address in asked:
            assert found[address] == self.new_tracker().find_user_by_email(address)
        assert tracker.find_users_by_email([]) == {}

    def test_user_is_found_by_account_id(self, tracker: Tracker) -> None:
        bob = tracker.get_user(self.bob)
        assert bob is not None and (bob.account_id, bob.email, bob.display_name) == (
            self.bob,
            "bob@example.org",
            "Bob Builder",
        )
        gone = tracker.get_user(self.gone)
        assert gone is not None and gone.active is False  # inactive accounts are found, and say so
        assert tracker.get_user("no-such-account") is None

    # -- creating issues ------------------------------------------------------------------------------------
    def test_create_issue_keeps_every_field(self, tracker: Tracker) -> None:
        project = tracker.get_project(self.PROJECT)
        issue_type = next(t for t in project.issue_types if t != project.default_issue_type)
        priority = next(p for p in project.priorities if p != project.default_priority)
        created = tracker.create_issue(
            self.new(
                description="It *burns*.\n\n> quoted",
                issue_type=issue_type.upper(),  # vocabulary is matched case-insensitively
                priority=priority.lower(),
                reporter=self.alice,
                assignee=self.bob,
                labels=("printer", "fire", "printer"),
                watchers=(self.bob, self.alice, self.bob),
                email_participants=("dave@customer.example", "DAVE@customer.example", "erin@customer.example"),
                custom_fields={"Ticket": "EXT-9", "Team": "blue"},
            )
        )
        assert created.key.startswith(f"{self.PROJECT}-") and created.project_key == self.PROJECT
        assert (created.summary, created.description) == ("Printer on fire", "It *burns*.\n\n> quoted")
        assert (created.issue_type, created.priority) == (issue_type, priority)
        assert created.status in project.statuses and created.status != self.DONE_STATUS
        assert (created.resolution, created.resolved_at, created.is_resolved) == ("", None, False)
        assert created.created_at is not None and created.updated_at >= created.created_at
        assert created.reporter is not None and created.reporter.account_id == self.alice
        assert created.assignee is not None and created.assignee.account_id == self.bob
        assert sorted(created.labels) == ["fire", "printer"]
        assert sorted(w.account_id for w in created.watchers) == sorted([self.alice, self.bob])
        assert created.email_participants == ("dave@customer.example", "erin@customer.example")
        assert (created.email_sender_address, created.email_sender_name) == ("", "")
        assert dict(created.custom_fields) == {"Ticket": "EXT-9", "Team": "blue"}
        assert tracker.get_issue(created.key) == created  # what create returns is what is stored
        assert self.new_tracker().get_issue(created.key) == created

    def test_create_issue_with_the_project_defaults(self, tracker: Tracker) -> None:
        project = tracker.get_project(self.PROJECT)
        created = tracker.create_issue(NewIssue(self.PROJECT, "Only a summary"))
        assert (created.issue_type, created.priority, created.description) == (
            project.default_issue_type,
            project.default_priority,
            "",
        )
        assert created.reporter is None and created.assignee is None
        assert (created.labels, created.watchers, created.email_participants) == ((), (), ())
        assert dict(created.custom_fields) == {}

    def test_create_issue_for_an_email_only_sender(self, tracker: Tracker) -> None:
        created = tracker.create_issue(
            self.new(email_sender_address="carol@customer.example", email_sender_name="Carol Customer")
        )
        assert created.reporter is None
        assert (created.email_sender_address, created.email_sender_name) == ("carol@customer.example", "Carol Customer")
        assert tracker.get_issue(created.key) == created

    def test_summary_is_one_line(self, tracker: Tracker) -> None:
        created = tracker.create_issue(self.new(summary="  Printer\n on   fire\t again "))
        assert created.summary == "Printer on fire again"
        long = tracker.create_issue(self.new(summary="x" * 300))
        assert long.summary == "x" * 255

    def test_issues_get_distinct_keys(self, tracker: Tracker) -> None:
        keys = [tracker.create_issue(self.new(summary=f"issue {n}")).key for n in range(3)]
        assert len(set(keys)) == 3
        assert [tracker.get_issue(key).summary for key in keys] == ["issue 0", "issue 1", "issue 2"]

    def test_create_issue_as_an_actor(self, tracker: Tracker) -> None:
        created = tracker.create_issue(self.new(), actor=Actor.user(self.bob))
        assert tracker.get_issue(created.key).summary == "Printer on fire"
        with pytest.raises(errors.UserNotFound):
            tracker.create_issue(self.new(summary="by nobody"), actor=Actor.user("no-such-account"))

    def test_an_inactive_actor_is_permission_denied(self, tracker: Tracker) -> None:
        """errors.PermissionDenied: "the acting user may not do this (e.g. an inactive account)".

        Regression: the local tracker answered InvalidFieldValue for an inactive actor."""
        with pytest.raises(errors.PermissionDenied):
            tracker.create_issue(self.new(), actor=Actor.user(self.gone))
        key = tracker.create_issue(self.new()).key
        with pytest.raises(errors.PermissionDenied):
            tracker.update_issue(key, IssueUpdate(summary="changed"), actor=Actor.user(self.gone))
        assert tracker.get_issue(key).summary == "Printer on fire"

    @pytest.mark.parametrize(
        ("overrides", "error"),
        [
            ({"summary": "   "}, errors.InvalidFieldValue),
            ({"issue_type": "No Such Type"}, errors.InvalidFieldValue),
            ({"priority": "No Such Priority"}, errors.InvalidFieldValue),
            ({"reporter": "no-such-account"}, errors.UserNotFound),
            ({"assignee": "no-such-account"}, errors.UserNotFound),
            ({"watchers": ("no-such-account",)}, errors.UserNotFound),
            ({"email_sender_address": "not an address"}, errors.InvalidFieldValue),
            ({"email_participants": ("ok@example.org", "not an address")}, errors.InvalidFieldValue),
            ({"custom_fields": {"Ticket": object()}}, errors.InvalidFieldValue),
        ],
    )
    def test_create_issue_refuses_invalid_values_and_creates_nothing(
        self, tracker: Tracker, overrides: dict[str, Any], error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            tracker.create_issue(self.new(**overrides), idempotency_key="contract:refused")
        good = tracker.create_issue(self.new(), idempotency_key="contract:refused")  # the key was not used up
        assert good.summary == "Printer on fire"

    @pytest.mark.parametrize("role", ["reporter", "assignee", "watchers"])
    def test_an_inactive_account_is_an_invalid_field_value(self, tracker: Tracker, role: str) -> None:
        value: Any = (self.gone,) if role == "watchers" else self.gone
        with pytest.raises(errors.InvalidFieldValue):
            tracker.create_issue(self.new(**{role: value}))

    # -- idempotent create --------------------------------------------------------------------------------
    def test_create_issue_twice_with_one_idempotency_key_gives_one_issue(self, tracker: Tracker) -> None:
        first = tracker.create_issue(self.new(message_ids=("<idem-1@x.example>",)), idempotency_key="contract:1")
        again = tracker.create_issue(self.new(summary="Changed on retry"), idempotency_key="contract:1")
        from_another_worker = self.new_tracker().create_issue(self.new(), idempotency_key="contract:1")
        other = tracker.create_issue(self.new(), idempotency_key="contract:2")
        assert again == first and from_another_worker.key == first.key
        assert tracker.get_issue(first.key).summary == "Printer on fire"
        assert other.key != first.key
        unkeyed = [tracker.create_issue(self.new()).key for _ in range(2)]
        assert len({first.key, other.key, *unkeyed}) == 4  # without a key, two calls are two issues

    def test_idempotent_create_from_two_workers_at_once_gives_one_issue(self, tracker: Tracker) -> None:
        def work() -> str:
            tracker = self.new_tracker()
            deadline = time.monotonic() + 60
            while True:  # retrying on TemporaryTrackerError, as the pipeline's task does
                try:
                    return tracker.create_issue(self.new(summary="same mail"), idempotency_key="contract:77").key
                except errors.TemporaryTrackerError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)

        keys = self.in_parallel([work, work, work])
        assert len(set(keys)) == 1
        assert tracker.get_issue(keys[0]).summary == "same mail"

    # -- finding issues -------------------------------------------------------------------------------------
    def test_issue_is_found_by_key_in_any_case(self, tracker: Tracker) -> None:
        created = tracker.create_issue(self.new())
        assert tracker.find_issue(created.key.lower()) == created
        assert tracker.get_issue(f" {created.key.lower()} ") == created
        assert tracker.find_issue(self.missing_key()) is None
        assert tracker.find_issue(f"NOPE-{MISSING_KEY_NUMBER}") is None  # an unknown project's key: not found
        with pytest.raises(errors.IssueNotFound):
            tracker.get_issue(self.missing_key())
        with pytest.raises(errors.IssueNotFound):
            tracker.get_issue("NOPE-1")

    def test_several_issues_are_found_at_once(self, tracker: Tracker) -> None:
        first = tracker.create_issue(self.new(summary="First"))
        second = tracker.create_issue(self.new(summary="Second", watchers=(self.bob, self.alice)))
        found = tracker.find_issues([first.key, second.key.lower(), self.missing_key(), " "])
        assert set(found) == {first.key, second.key.lower()}  # by the key as given; missing ones left out
        assert found[first.key] == tracker.find_issue(first.key)
        assert found[second.key.lower()] == tracker.find_issue(second.key)
        assert tracker.find_issues([]) == {}

    def test_issue_is_found_by_message_id_first_match_wins(self, tracker: Tracker) -> None:
        first = tracker.create_issue(self.new(message_ids=("<first@mail.example>",)))
        second = tracker.create_issue(self.new(message_ids=("second@mail.example",)))
        assert tracker.find_issue_by_message_ids(["first@mail.example"]) == first  # with or without <>
        assert tracker.find_issue_by_message_ids([" <second@mail.example> "]) == second
        found = tracker.find_issue_by_message_ids(["<unknown@x>", "<second@mail.example>", "<first@mail.example>"])
        assert found is not None and found.key == second.key
        found = tracker.find_issue_by_message_ids(["<first@mail.example>", "<second@mail.example>"])
        assert found is not None and found.key == first.key
        assert tracker.find_issue_by_message_ids(["<unknown@x>"]) is None
        assert tracker.find_issue_by_message_ids([]) is None
        assert tracker.find_issue_by_message_ids(["", "<>"]) is None  # empty ids match nothing

    def test_recorded_message_ids_find_their_issue(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        tracker.record_message_id(issue.key, "<notify-1@jemh.example>")
        tracker.record_message_id(issue.key.lower(), "notify-1@jemh.example")  # again: no error
        tracker.record_message_id(issue.key, "<reply-1@customer.example>", kind="inbound")
        found = tracker.find_issue_by_message_ids(["<notify-1@jemh.example>"])
        assert found is not None and found.key == issue.key
        found = tracker.find_issue_by_message_ids(["reply-1@customer.example"])
        assert found is not None and found.key == issue.key

    def test_several_message_ids_recorded_at_once(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        tracker.record_message_id(issue.key, "<known@jemh.example>")
        tracker.record_message_ids(issue.key, ["<known@jemh.example>", "new-1@jemh.example", "<new-1@jemh.example>"])
        tracker.record_message_ids(issue.key, [])
        for message_id in ("<known@jemh.example>", "<new-1@jemh.example>"):
            found = self.new_tracker().find_issue_by_message_ids([message_id])
            assert found is not None and found.key == issue.key

    @pytest.mark.parametrize("message_id", ["", "  ", "<>", "< >"])
    def test_an_empty_message_id_is_an_invalid_field_value(self, tracker: Tracker, message_id: str) -> None:
        key = tracker.create_issue(self.new()).key
        with pytest.raises(errors.InvalidFieldValue):
            tracker.record_message_id(key, message_id)
        with pytest.raises(errors.InvalidFieldValue):
            tracker.record_message_ids(key, ["<ok@x.example>", message_id])

    def test_an_unknown_message_id_kind_is_an_invalid_field_value(self, tracker: Tracker) -> None:
        key = tracker.create_issue(self.new()).key
        with pytest.raises(errors.InvalidFieldValue):
            tracker.record_message_id(key, "<x@y.example>", kind="sideways")
        with pytest.raises(errors.InvalidFieldValue):
            tracker.record_message_ids(key, ["<x@y.example>"], kind="sideways")

    def test_message_ids_of_a_deleted_issue_are_issue_not_found(self, tracker: Tracker) -> None:
        """The issue was looked up (as notifications do before recording their Message-IDs), then deleted.

        Regression: inside the caller's transaction the local tracker stored the Message-IDs without an issue (the
        foreign key is checked only at commit) and the caller's commit failed instead."""
        key = tracker.create_issue(self.new()).key
        assert set(tracker.find_issues([key])) == {key}
        tracker.get_issue(key)
        self.delete_issue(key)
        with pytest.raises(errors.IssueNotFound):
            tracker.record_message_ids(key, ["<after-delete@jemh.example>"])
        with pytest.raises(errors.IssueNotFound):
            tracker.record_message_id(key, "<after-delete-2@jemh.example>")
        with pytest.raises(errors.IssueNotFound):
            tracker.add_comment(key, NewComment("late reply", message_ids=("<late@customer.example>",)))
        assert tracker.find_issue_by_message_ids(["<after-delete@jemh.example>", "<late@customer.example>"]) is None

    def test_issue_is_found_by_foreign_key_most_recent_first(self, tracker: Tracker) -> None:
        older = tracker.create_issue(self.new(custom_fields={"Ticket": "EXT-1"}))
        newer = tracker.create_issue(self.new(custom_fields={"Ticket": "EXT-1", "Team": "red"}))
        elsewhere = tracker.create_issue(self.new(project_key=self.OTHER_PROJECT, custom_fields={"Ticket": "EXT-2"}))
        found = tracker.find_issue_by_foreign_key("Ticket", "EXT-1")
        assert found is not None and found.key == newer.key
        found = tracker.find_issue_by_foreign_key("Ticket", "EXT-2")
        assert found is not None and found.key == elsewhere.key
        assert tracker.find_issue_by_foreign_key("Ticket", "EXT-2", project_key=self.PROJECT) is None
        found = tracker.find_issue_by_foreign_key("Ticket", "EXT-2", project_key=self.OTHER_PROJECT.lower())
        assert found is not None and found.key == elsewhere.key
        assert tracker.find_issue_by_foreign_key("Ticket", "EXT-3") is None
        assert tracker.find_issue_by_foreign_key("Team", "EXT-1") is None
        tracker.update_custom_fields(newer.key, {"Ticket": None})
        found = tracker.find_issue_by_foreign_key("Ticket", "EXT-1")
        assert found is not None and found.key == older.key

    # -- comments -------------------------------------------------------------------------------------------
    def test_comments_by_users_and_email_only_authors(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        by_user = tracker.add_comment(issue.key, NewComment(body="On **it**.", author=self.alice))
        by_mail = tracker.add_comment(
            issue.key.lower(),
            NewComment(
                body="Still burning",
                author_email="carol@customer.example",
                author_name="Carol",
                source_message_id=7,
                message_ids=("<reply@customer.example>",),
            ),
        )
        assert by_user.issue_key == by_mail.issue_key == issue.key
        assert by_user.body == "On **it**." and by_user.author is not None and by_user.author.account_id == self.alice
        assert (by_user.author_email, by_user.source_message_id) == ("", None)
        assert (by_mail.author, by_mail.author_email, by_mail.author_name, by_mail.source_message_id) == (
            None,
            "carol@customer.example",
            "Carol",
            7,
        )
        assert by_mail.created_at >= by_user.created_at
        assert tracker.list_comments(issue.key) == [by_user, by_mail]  # oldest first, as returned
        found = tracker.find_issue_by_message_ids(["<reply@customer.example>"])
        assert found is not None and found.key == issue.key
        assert tracker.get_issue(issue.key).updated_at >= by_mail.created_at

    def test_comments_from_mail_are_counted(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        tracker.add_comment(issue.key, NewComment("by hand", author=self.alice))
        first = tracker.add_comment(
            issue.key, NewComment("from mail 7", author_email="c@x.example", source_message_id=7)
        )
        tracker.add_comment(issue.key, NewComment("from mail 8", author_email="c@x.example", source_message_id=8))
        before = first.created_at - timedelta(seconds=1)
        assert tracker.count_mail_comments(issue.key, since=before) == (2, 2)
        assert tracker.count_mail_comments(issue.key, since=before, excluding_message=8) == (1, 1)
        later = max(c.created_at for c in tracker.list_comments(issue.key)) + timedelta(seconds=1)
        assert tracker.count_mail_comments(issue.key, since=later) == (2, 0)
        with pytest.raises(errors.IssueNotFound):
            tracker.count_mail_comments("NOPE-999", since=before)

    def test_a_long_comment_is_kept_whole(self, tracker: Tracker) -> None:
        """Cutting a long body (and attaching the full text) is the pipeline's job, not the tracker's."""
        issue = tracker.create_issue(self.new())
        body = "line of a long reply\n" * 1500
        comment = tracker.add_comment(issue.key, NewComment(body=body, author_email="c@customer.example"))
        assert comment.body == body
        assert tracker.list_comments(issue.key)[0].body == body

    def test_add_comment_twice_with_one_idempotency_key_gives_one_comment(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        first = tracker.add_comment(issue.key, NewComment("reply", author_email="c@x.example"), idempotency_key="c:5")
        again = tracker.add_comment(issue.key, NewComment("reply again"), idempotency_key="c:5")
        assert again == first
        tracker.add_comment(issue.key, NewComment("no key"))
        tracker.add_comment(issue.key, NewComment("no key"))
        assert [c.body for c in tracker.list_comments(issue.key)] == ["reply", "no key", "no key"]

    @pytest.mark.parametrize(
        ("comment", "error"),
        [
            (NewComment(body="  \n "), errors.InvalidFieldValue),
            (NewComment(body="hi", author="no-such-account"), errors.UserNotFound),
            (NewComment(body="hi", author_email="not an address"), errors.InvalidFieldValue),
        ],
    )
    def test_add_comment_refuses_invalid_values(self, tracker: Tracker, comment: NewComment, error: type) -> None:
        issue = tracker.create_issue(self.new())
        with pytest.raises(error):
            tracker.add_comment(issue.key, comment)
        assert tracker.list_comments(issue.key) == []

    # -- attachments ----------------------------------------------------------------------------------------
    def test_attachments_keep_names_types_sizes_and_content(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        comment = tracker.add_comment(issue.key, NewComment(body="see attached", author_email="c@customer.example"))
        logo_bytes, log_bytes = b"\x89PNG fake image", b"line\n" * 5000
        logo = AttachmentUpload(filename="logo.png", content_type="image/png", data=logo_bytes)
        log_file = AttachmentUpload(filename="server log.txt", content_type="text/plain", file=io.BytesIO(log_bytes))
        stored = tracker.add_attachments(issue.key, [logo, log_file], comment_id=comment.id, actor=Actor.user(self.bob))
        assert [(a.filename, a.content_type, a.size, a.comment_id, a.issue_key) for a in stored] == [
            ("logo.png", "image/png", len(logo_bytes), comment.id, issue.key),
            ("server log.txt", "text/plain", len(log_bytes), comment.id, issue.key),
        ]
        assert [a.sha256 for a in stored] == [hashlib.sha256(b).hexdigest() for b in (logo_bytes, log_bytes)]
        assert len({a.id for a in stored}) == 2
        assert tracker.read_attachment(issue.key, stored[0].id) == logo_bytes
        assert tracker.read_attachment(issue.key.lower(), stored[1].id) == log_bytes
        assert tracker.list_attachments(issue.key) == stored
        assert tracker.attachment_hashes(issue.key) == {a.sha256 for a in stored}
        (single,) = tracker.add_attachments(issue.key, [AttachmentUpload("one.bin", data=b"\x00\x01")])
        assert (single.filename, single.content_type, single.size, single.comment_id) == (
            "one.bin",
            "application/octet-stream",
            2,
            None,
        )
        assert tracker.list_attachments(issue.key) == [*stored, single]

    def test_the_same_content_twice_is_attached_twice(self, tracker: Tracker) -> None:
        """No dedupe without an idempotency key: that is the caller's job (attachment_hashes)."""
        issue = tracker.create_issue(self.new())
        upload = AttachmentUpload("a.txt", "text/plain", data=b"same")
        stored = tracker.add_attachments(issue.key, [upload, upload])
        assert len({a.id for a in stored}) == 2 and len(tracker.list_attachments(issue.key)) == 2
        assert tracker.attachment_hashes(issue.key) == {upload.content_sha256()}

    def test_add_attachments_retried_with_one_idempotency_key_attaches_once(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        a = AttachmentUpload("a.txt", "text/plain", data=b"first file")
        b = AttachmentUpload("b.txt", "text/plain", data=b"second file")
        (stored_a,) = tracker.add_attachments(issue.key, [a], idempotency_key="att:9")  # then the worker died
        retried = tracker.add_attachments(issue.key, [a, b], idempotency_key="att:9")
        assert retried[0] == stored_a and retried[1].filename == "b.txt"
        assert tracker.add_attachments(issue.key, [b, a], idempotency_key="att:9") == [retried[1], stored_a]
        assert tracker.list_attachments(issue.key) == retried

    def test_an_attachment_whose_content_does_not_match_its_hash_is_refused(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        with pytest.raises(errors.InvalidFieldValue):
            tracker.add_attachments(issue.key, [AttachmentUpload("x.bin", data=b"abc", sha256="0" * 64)])
        assert tracker.list_attachments(issue.key) == [] and tracker.attachment_hashes(issue.key) == frozenset()
        good = AttachmentUpload("x.bin", data=b"abc", sha256=AttachmentUpload("y", data=b"abc").content_sha256())
        assert [a.size for a in tracker.add_attachments(issue.key, [good])] == [3]

    def test_unknown_attachments_and_comments_are_not_found(self, tracker: Tracker) -> None:
        """Regression: the local tracker raised ValueError (``int(id)``) for an id that is not a number."""
        issue = tracker.create_issue(self.new())
        other = tracker.create_issue(self.new(summary="other"))
        (theirs,) = tracker.add_attachments(other.key, [AttachmentUpload("t.txt", data=b"theirs")])
        their_comment = tracker.add_comment(other.key, NewComment("theirs", author_email="c@x.example"))
        for attachment_id in (theirs.id, "999999", "no-such-attachment"):
            with pytest.raises(errors.NotFound):
                tracker.read_attachment(issue.key, attachment_id)
        for comment_id in (their_comment.id, "999999", "no-such-comment"):
            with pytest.raises(errors.NotFound):
                tracker.add_attachments(issue.key, [AttachmentUpload("x.txt", data=b"x")], comment_id=comment_id)
        assert tracker.list_attachments(issue.key) == []

    # -- changing issues ------------------------------------------------------------------------------------
    def test_update_issue_changes_only_what_it_names(self, tracker: Tracker) -> None:
        project = tracker.get_project(self.PROJECT)
        priority = next(p for p in project.priorities if p != project.default_priority)
        issue_type = next(t for t in project.issue_types if t != project.default_issue_type)
        issue = tracker.create_issue(self.new(labels=("a", "b"), custom_fields={"Ticket": "EXT-1"}))
        updated = tracker.update_issue(
            issue.key.lower(),
            IssueUpdate(
                summary="Printer  really\non fire",
                description="Now with *smoke*.",
                priority=priority,
                issue_type=issue_type,
                assignee=self.alice,
                add_labels=("c",),
                remove_labels=("a",),
                add_watchers=(self.bob, self.alice),
                email_sender_address="carol@customer.example",
                email_sender_name="Carol",
            ),
            actor=Actor.user(self.bob),
        )
        assert (updated.summary, updated.description) == ("Printer really on fire", "Now with *smoke*.")
        assert (updated.priority, updated.issue_type) == (priority, issue_type)
        assert updated.assignee is not None and updated.assignee.account_id == self.alice
        assert sorted(updated.labels) == ["b", "c"]
        assert sorted(w.account_id for w in updated.watchers) == sorted([self.alice, self.bob])
        assert (updated.email_sender_address, updated.email_sender_name) == ("carol@customer.example", "Carol")
        assert dict(updated.custom_fields) == {"Ticket": "EXT-1"}
        assert tracker.get_issue(issue.key) == updated
        assert updated.updated_at >= issue.updated_at
        cleared = tracker.update_issue(
            issue.key, IssueUpdate(assignee=None, labels=("only",), remove_watchers=(self.bob, "no-such-account"))
        )
        assert cleared.assignee is None and cleared.labels == ("only",)
        assert [w.account_id for w in cleared.watchers] == [self.alice]
        untouched = tracker.update_issue(issue.key, IssueUpdate())
        assert (untouched.summary, untouched.priority, untouched.labels, untouched.assignee) == (
            "Printer really on fire",
            priority,
            ("only",),
            None,
        )

    @pytest.mark.parametrize(
        ("update", "error"),
        [
            (IssueUpdate(summary=" "), errors.InvalidFieldValue),
            (IssueUpdate(priority="No Such Priority"), errors.InvalidFieldValue),
            (IssueUpdate(issue_type="No Such Type"), errors.InvalidFieldValue),
            (IssueUpdate(assignee="no-such-account"), errors.UserNotFound),
            (IssueUpdate(add_watchers=("no-such-account",)), errors.UserNotFound),
            (IssueUpdate(email_sender_address="not an address"), errors.InvalidFieldValue),
        ],
    )
    def test_update_issue_refuses_invalid_values_and_changes_nothing(
        self, tracker: Tracker, update: IssueUpdate, error: type
    ) -> None:
        issue = tracker.create_issue(self.new())
        with pytest.raises(error):
            tracker.update_issue(issue.key, update)
        assert tracker.get_issue(issue.key) == issue

    def test_transition_by_target_status_and_by_transition_name(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        transitions = tracker.list_transitions(issue.key)
        assert transitions and len({t.id for t in transitions}) == len(transitions)
        assert issue.status not in {t.to_status for t in transitions}
        assert self.DONE_STATUS in {t.to_status for t in transitions}
        resolved = tracker.transition_issue(issue.key.lower(), self.DONE_STATUS.upper(), actor=Actor.user(self.bob))
        assert resolved.status == self.DONE_STATUS and resolved.is_resolved and resolved.resolution
        assert tracker.get_issue(issue.key) == resolved
        back = next(t for t in tracker.list_transitions(issue.key) if t.to_status == issue.status)
        reopened = tracker.transition_issue(issue.key, back.name)  # by the transition's name
        assert (reopened.status, reopened.resolution, reopened.resolved_at) == (issue.status, "", None)

    def test_transition_with_a_resolution(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        resolved = tracker.transition_issue(issue.key, self.DONE_STATUS, resolution=self.OTHER_RESOLUTION)
        assert (resolved.status, resolved.resolution) == (self.DONE_STATUS, self.OTHER_RESOLUTION)
        assert resolved.resolved_at is not None

    def test_an_impossible_transition_is_invalid_transition_and_changes_nothing(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        with pytest.raises(errors.InvalidTransition):
            tracker.transition_issue(issue.key, "No Such Status")
        tracker.transition_issue(issue.key, self.DONE_STATUS)
        done = tracker.get_issue(issue.key)
        reachable = {t.to_status.casefold() for t in tracker.list_transitions(issue.key)}
        unreachable = [s for s in tracker.get_project(self.PROJECT).statuses if s.casefold() not in reachable]
        for status in unreachable:
            with pytest.raises(errors.InvalidTransition):
                tracker.transition_issue(issue.key, status)
        assert tracker.get_issue(issue.key) == done

    def test_an_unknown_resolution_is_an_invalid_field_value(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        with pytest.raises(errors.InvalidFieldValue):
            tracker.transition_issue(issue.key, self.DONE_STATUS, resolution="No Such Resolution")
        assert tracker.get_issue(issue.key) == issue

    def test_email_participants(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new(email_participants=("dave@customer.example",)))
        assert tracker.get_participants(issue.key) == ("dave@customer.example",)
        after = tracker.add_participants(issue.key, ["erin@customer.example", "Dave@Customer.example", " "])
        assert after == ("dave@customer.example", "erin@customer.example")  # the first spelling kept
        assert tracker.get_participants(issue.key.lower()) == after
        assert tracker.set_participants(issue.key, ["frank@x.example", "FRANK@x.example"]) == ("frank@x.example",)
        assert tracker.get_issue(issue.key).email_participants == ("frank@x.example",)
        with pytest.raises(errors.InvalidFieldValue):
            tracker.add_participants(issue.key, ["grace@x.example", "frank at x"])
        with pytest.raises(errors.InvalidFieldValue):
            tracker.set_participants(issue.key, ["frank at x"])
        assert tracker.get_participants(issue.key) == ("frank@x.example",)
        assert tracker.set_participants(issue.key, [], actor=Actor.email_only("c@customer.example")) == ()

    def test_watchers_are_accounts_and_participants_are_addresses(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new(watchers=(self.bob,), email_participants=("dave@customer.example",)))
        watched = tracker.update_issue(issue.key, IssueUpdate(add_watchers=(self.alice, self.bob)))
        assert sorted(w.account_id for w in watched.watchers) == sorted([self.alice, self.bob])
        assert watched.email_participants == ("dave@customer.example",)
        assert tracker.add_participants(issue.key, ["erin@customer.example"]) == (
            "dave@customer.example",
            "erin@customer.example",
        )
        assert sorted(w.account_id for w in tracker.get_issue(issue.key).watchers) == sorted([self.alice, self.bob])
        unwatched = tracker.update_issue(issue.key, IssueUpdate(remove_watchers=(self.alice, self.bob)))
        assert unwatched.watchers == ()

    # -- a data subject ------------------------------------------------------------------------------------------
    SUBJECT = "Erin.Subject@customer.example"

    def _subject_world(self, tracker: Tracker) -> tuple[TrackerIssue, TrackerIssue, TrackerIssue]:
        reported = tracker.create_issue(
            self.new(
                summary="Printer on fire",
                description=f"Reach me at {self.SUBJECT.lower()}",
                email_sender_address=self.SUBJECT,
                email_sender_name="Erin Subject",
                email_participants=("dave@customer.example",),
            )
        )
        joined = tracker.create_issue(
            self.new(
                summary="Another one",
                email_sender_address="dave@customer.example",
                email_participants=("dave@customer.example", self.SUBJECT.upper()),
            )
        )
        tracker.add_comment(
            joined.key,
            NewComment(
                body="Me too, says erin.subject@customer.example", author_email=self.SUBJECT, author_name="Erin"
            ),
        )
        tracker.add_comment(joined.key, NewComment(body="Noted", author=self.alice))
        unrelated = tracker.create_issue(self.new(summary="Unrelated", email_sender_address="frank@x.example"))
        return reported, joined, unrelated

    def test_a_subject_is_found_as_reporter_participant_and_comment_author(self, tracker: Tracker) -> None:
        reported, joined, unrelated = self._subject_world(tracker)
        found = tracker.find_subject(self.SUBJECT.lower())
        assert [i.key for i in found.reported] == [reported.key]
        assert [i.key for i in found.participating] == [joined.key]
        assert [(c.issue_key, c.author_email.lower()) for c in found.comments] == [(joined.key, self.SUBJECT.lower())]
        assert unrelated.key not in found.issue_keys
        nobody = tracker.find_subject("nobody@customer.example")
        assert (nobody.reported, nobody.participating, nobody.comments) == ((), (), ())

    def test_erasing_a_subject_clears_its_fields_and_replaces_its_comment_authors(self, tracker: Tracker) -> None:
        reported, joined, unrelated = self._subject_world(tracker)
        erased = tracker.erase_subject(self.SUBJECT, issue_keys=[unrelated.key])
        assert (erased.reporter_fields_cleared, erased.participants_removed, erased.comment_authors_replaced) == (
            1,
            1,
            1,
        )
        assert erased.texts_redacted == 0
        after = tracker.get_issue(reported.key)
        assert (after.email_sender_address, after.email_sender_name) == ("", "")
        assert after.summary == "Printer on fire" and self.SUBJECT.lower() not in after.description.lower()
        assert tracker.get_issue(joined.key).email_participants == ("dave@customer.example",)
        comments = tracker.list_comments(joined.key)
        assert (comments[0].author_email, comments[0].author_name) == ("", ERASED_SENDER)
        assert comments[0].body.startswith("Me too") and "erin.subject" not in comments[0].body.lower()
        assert comments[1].body == "Noted"
        assert tracker.get_issue(unrelated.key).email_sender_address == "frank@x.example"
        found = tracker.find_subject(self.SUBJECT)
        assert (found.reported, found.participating, found.comments) == ((), (), ())
        again = tracker.erase_subject(self.SUBJECT)  # idempotent
        assert again.reporter_fields_cleared == again.comment_authors_replaced == 0

    def test_erasing_a_subject_with_redaction_replaces_the_texts_it_wrote(self, tracker: Tracker) -> None:
        reported, joined, _ = self._subject_world(tracker)
        tracker.add_attachments(reported.key, [AttachmentUpload("erin.txt", data=b"from erin")])
        mine = next(c for c in tracker.list_comments(joined.key) if c.author_email)
        tracker.add_attachments(joined.key, [AttachmentUpload("her-log.txt", data=b"log")], comment_id=mine.id)
        erased = tracker.erase_subject(self.SUBJECT, redact_texts=True)
        assert erased.texts_redacted == 2 and erased.attachments_removed == 2
        after = tracker.get_issue(reported.key)
        assert after.summary == REDACTED_TEXT and after.description == ""
        assert tracker.list_attachments(reported.key) == [] and tracker.list_attachments(joined.key) == []
        bodies = [c.body for c in tracker.list_comments(joined.key)]
        assert bodies == [REDACTED_TEXT, "Noted"]
        assert tracker.get_issue(joined.key).summary == "Another one"  # not written by the subject

    def test_custom_fields_are_set_and_removed(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new(custom_fields={"Ticket": "EXT-1", "Team": "blue"}))
        assert tracker.get_custom_fields(issue.key) == {"Ticket": "EXT-1", "Team": "blue"}
        updated = tracker.update_custom_fields(issue.key.lower(), {"Team": None, "Ticket": "EXT-2"})
        assert dict(updated.custom_fields) == {"Ticket": "EXT-2"}
        assert tracker.get_custom_fields(issue.key) == {"Ticket": "EXT-2"}
        assert dict(tracker.get_issue(issue.key).custom_fields) == {"Ticket": "EXT-2"}
        assert tracker.update_custom_fields(issue.key, {"Team": None}).custom_fields == {"Ticket": "EXT-2"}
        with pytest.raises(errors.InvalidFieldValue):
            tracker.update_custom_fields(issue.key, {"Team": object()})
        assert tracker.get_custom_fields(issue.key) == {"Ticket": "EXT-2"}

    # -- an unknown issue -----------------------------------------------------------------------------------
    ISSUE_CALLS: ClassVar[dict[str, Callable[[Tracker, str], Any]]] = {
        "get_issue": lambda t, key: t.get_issue(key),
        "add_comment": lambda t, key: t.add_comment(key, NewComment("hello")),
        "add_comment with a key": lambda t, key: t.add_comment(key, NewComment("hello"), idempotency_key="c:404"),
        "list_comments": lambda t, key: t.list_comments(key),
        "add_attachments": lambda t, key: t.add_attachments(key, [AttachmentUpload("a.txt", data=b"a")]),
        "list_attachments": lambda t, key: t.list_attachments(key),
        "attachment_hashes": lambda t, key: t.attachment_hashes(key),
        "read_attachment": lambda t, key: t.read_attachment(key, "1"),
        "record_message_id": lambda t, key: t.record_message_id(key, "<a@b.example>"),
        "record_message_ids": lambda t, key: t.record_message_ids(key, ["<a@b.example>"]),
        "update_issue": lambda t, key: t.update_issue(key, IssueUpdate(summary="x")),
        "list_transitions": lambda t, key: t.list_transitions(key),
        "transition_issue": lambda t, key: t.transition_issue(key, "Resolved"),
        "get_participants": lambda t, key: t.get_participants(key),
        "add_participants": lambda t, key: t.add_participants(key, ["a@b.example"]),
        "set_participants": lambda t, key: t.set_participants(key, ["a@b.example"]),
        "get_custom_fields": lambda t, key: t.get_custom_fields(key),
        "update_custom_fields": lambda t, key: t.update_custom_fields(key, {"Ticket": "x"}),
    }

    @pytest.mark.parametrize("call", list(ISSUE_CALLS))
    def test_an_unknown_issue_is_issue_not_found(self, tracker: Tracker, call: str) -> None:
        with pytest.raises(errors.IssueNotFound):
            self.ISSUE_CALLS[call](tracker, self.missing_key())
        with pytest.raises(errors.IssueNotFound):
            self.ISSUE_CALLS[call](tracker, "NOPE-1")  # an unknown project's key, too

    def test_issues_returned_are_immutable(self, tracker: Tracker) -> None:
        issue = tracker.create_issue(self.new())
        assert isinstance(issue, TrackerIssue)
        with pytest.raises(AttributeError):
            issue.summary = "changed"  # type: ignore[misc]  # the test: a frozen dataclass refuses it
