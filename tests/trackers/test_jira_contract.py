"""The Tracker contract (tests/trackers/contract.py), run against the Jira backend on the fake Jira, for Jira
Cloud (REST v3, ADF) and Jira Data Center (REST v2, wiki markup). Every request the backend makes and every
response the fake gives is checked against Atlassian's OpenAPI description: a violation fails the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pytest
from django.db import connections

from jemh.models import Instance, JiraDeployment, TrackerKind
from tests.trackers.contract import TrackerContract
from tests.trackers.jira_fake import FakeJira, running
from trackers.jira import tracker_for
from trackers.jira.tracker import JiraTracker

T = TypeVar("T")


def jira_instance(fake: FakeJira, name: str = "Jira contract instance") -> Instance:
    deployment = JiraDeployment.CLOUD if fake.flavour == "cloud" else JiraDeployment.DATA_CENTER
    return Instance.objects.create(
        name=name,
        tracker_kind=TrackerKind.JIRA,
        base_url=fake.base_url,
        jira_deployment=deployment,
        jira_email=FakeJira.EMAIL if fake.flavour == "cloud" else "",
        jira_api_token=FakeJira.API_TOKEN if fake.flavour == "cloud" else "",
        jira_pat=FakeJira.PAT if fake.flavour == "datacenter" else "",
    )


@pytest.fixture(params=["cloud", "datacenter"])
def fake_jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    """A fake Jira of each flavour; the test fails if any request or response broke Atlassian's spec."""
    with running(request.param) as fake:
        yield fake


class TestJiraTracker(TrackerContract):
    """Projects, users and custom fields are made in the fake directly, as a Jira admin would."""

    DONE_STATUS = "Resolved"
    OTHER_RESOLUTION = "Won't Do"

    @pytest.fixture()
    def tracker(self, db: None, fake_jira: FakeJira) -> JiraTracker:
        self.fake = fake_jira
        self.instance = jira_instance(fake_jira)
        return tracker_for(self.instance)

    def make_project(self, key: str, name: str, lead: str | None) -> None:
        self.fake.state.add_project(key, name, lead)

    def make_user(self, username: str, email: str, display_name: str, *, active: bool = True) -> str:
        return self.fake.state.add_user(username, email, display_name, active=active).account_id

    def make_custom_field(self, name: str) -> None:
        self.fake.state.add_custom_field(name)

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        self.fake.state.grant(account_id, project_key, *permissions)

    def delete_issue(self, key: str) -> None:
        self.fake.state.delete_issue(key)

    def new_tracker(self) -> JiraTracker:
        return tracker_for(self.instance)

    def in_parallel(self, works: Sequence[Callable[[], T]]) -> list[T]:
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
        assert len(self.fake.state.issues) == 1
