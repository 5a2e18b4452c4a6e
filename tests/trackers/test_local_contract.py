"""The Tracker contract (tests/trackers/contract.py), run against the local tracker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as DjangoPermission
from django.db import connections, transaction

from jemh.models import Instance
from tests.trackers.contract import TrackerContract
from trackers import errors
from trackers.interface import NewIssue
from trackers.local import LocalTracker
from trackers.local.services import delete_issue
from trackers.local.tracker import DJANGO_PERMISSIONS
from trackers.models import Issue, IssueMessageId, Project

T = TypeVar("T")


class TestLocalTracker(TrackerContract):
    """The local tracker: projects and users are rows; custom fields need no declaring."""

    @pytest.fixture()
    def tracker(self, db: None) -> LocalTracker:
        self.instance = Instance.objects.create(name="Contract instance")
        return LocalTracker(self.instance)

    def make_project(self, key: str, name: str, lead: str | None) -> None:
        lead_user = get_user_model().objects.get(username=lead) if lead else None
        Project.objects.create(instance=self.instance, key=key, name=name, lead=lead_user)

    def make_user(self, username: str, email: str, display_name: str, *, active: bool = True) -> str:
        first, _, last = display_name.partition(" ")
        user = get_user_model().objects.create_user(username, email, first_name=first, last_name=last, is_active=active)
        return user.get_username()

    def make_custom_field(self, name: str) -> None:
        """Local custom fields are free-form: nothing to declare."""

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        """The local tracker's permissions are Django's model permissions (the same in every project)."""
        user = get_user_model().objects.get(username=account_id)
        for name in permissions:
            app_label, codename = DJANGO_PERMISSIONS[name].split(".")
            user.user_permissions.add(
                DjangoPermission.objects.get(content_type__app_label=app_label, codename=codename)
            )

    def delete_issue(self, key: str) -> None:
        delete_issue(Issue.objects.get(instance=self.instance, key=key))

    def new_tracker(self) -> LocalTracker:
        return LocalTracker(self.instance)

    def in_parallel(self, works: Sequence[Callable[[], T]]) -> list[T]:
        """Each thread has its own database connection: close it when the thread is done."""

        def closing(work: Callable[[], T]) -> Callable[[], T]:
            def run() -> T:
                try:
                    return work()
                finally:
                    connections.close_all()

            return run

        return super().in_parallel([closing(work) for work in works])

    @pytest.mark.django_db(transaction=True)  # the workers' connections see only what was committed
    def test_idempotent_create_from_two_workers_at_once_gives_one_issue(self, tracker: Any) -> None:
        super().test_idempotent_create_from_two_workers_at_once_gives_one_issue(tracker)
        assert Issue.objects.filter(instance=self.instance).count() == 1


@pytest.mark.django_db(transaction=True)  # a real outer transaction, committed at the end
def test_message_ids_of_a_deleted_issue_leave_the_callers_transaction_usable(tracker: LocalTracker) -> None:
    """Regression: the orphan Message-IDs of a deleted issue made the caller's (the notification flush's) commit
    fail; now the tracker's savepoint is rolled back and the caller's transaction commits what else it did."""
    gone = tracker.create_issue(NewIssue("ABC", "deleted meanwhile"))
    kept = tracker.create_issue(NewIssue("ABC", "still here"))
    fresh = LocalTracker(tracker.instance)
    fresh.find_issues([gone.key, kept.key])
    with transaction.atomic():
        delete_issue(Issue.objects.get(key=gone.key))
        with pytest.raises(errors.IssueNotFound):
            fresh.record_message_ids(gone.key, ["<to-gone@jemh.example>"])
        fresh.record_message_ids(kept.key, ["<to-kept@jemh.example>"])
    assert list(IssueMessageId.objects.values_list("message_id", flat=True)) == ["<to-kept@jemh.example>"]
    found = LocalTracker(tracker.instance).find_issue_by_message_ids(["<to-kept@jemh.example>"])
    assert found is not None and found.key == kept.key
