"""Fixtures of the tracker tests: an instance with a project, users, blobs in a temporary folder, events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from jemh.models import Instance
from trackers.local import LocalTracker
from trackers.models import Project
from trackers.signals import IssueEventData, issue_event


@pytest.fixture()
def instance(db: None) -> Instance:
    return Instance.objects.create(name="Acme Support")


@pytest.fixture()
def project(instance: Instance, users: dict[str, Any]) -> Project:
    return Project.objects.create(instance=instance, key="ABC", name="Acme Basic Care", lead=users["lead"])


@pytest.fixture()
def tracker(instance: Instance, project: Project) -> LocalTracker:
    return LocalTracker(instance)


@pytest.fixture()
def users(db: None) -> dict[str, Any]:
    model = get_user_model()
    return {
        "alice": model.objects.create_user("alice", "Alice@Example.org", first_name="Alice", last_name="Agent"),
        "bob": model.objects.create_user("bob", "bob@example.org"),
        "lead": model.objects.create_user("lena", "lena@example.org", first_name="Lena"),
        "gone": model.objects.create_user("gone", "gone@example.org", is_active=False),
    }


@pytest.fixture()
def events() -> Iterator[list[IssueEventData]]:
    """Every issue event sent during the test, in order."""
    received: list[IssueEventData] = []

    def receive(sender: Any, event: IssueEventData, **kwargs: Any) -> None:
        received.append(event)

    issue_event.connect(receive, weak=False, dispatch_uid="tests.trackers.events")
    yield received
    issue_event.disconnect(dispatch_uid="tests.trackers.events")
