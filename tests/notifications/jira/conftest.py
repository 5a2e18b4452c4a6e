"""Fixtures of the Jira webhook tests: a fake Jira of each flavour with a project and people, a Jira instance with a
webhook secret pointed at it, and the fake's webhook sender delivering to our endpoint through Django's test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from jemh.models import Instance, JiraDeployment, TrackerKind
from notifications.models import NotificationMapping
from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.jira_fake.state import User
from tests.trackers.jira_fake.webhooks import WebhookEmitter

SECRET = "a-webhook-secret"
CUSTOMER = "carol@customer.example"


@pytest.fixture(params=["cloud", "datacenter"])
def fake_jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    """A fake Jira of each flavour; the test fails if any request or response broke Atlassian's spec."""
    with running(request.param) as fake:
        yield fake


@pytest.fixture()
def people(fake_jira: FakeJira) -> dict[str, User]:
    state = fake_jira.state
    found = {
        "agent": state.add_user("alice", "alice@acme.example", "Alice Agent"),
        "lead": state.add_user("lena", "lena@acme.example", "Lena Lead"),
        "watcher": state.add_user("walt", "walt@acme.example", "Walt Watcher"),
    }
    state.add_project("SUP", "Support", found["lead"].account_id)
    return found


def make_jira_instance(fake: FakeJira, *, secret: str = SECRET, name: str = "Acme Jira") -> Instance:
    cloud = fake.flavour == "cloud"
    return Instance.objects.create(
        name=name,
        tracker_kind=TrackerKind.JIRA,
        base_url=fake.base_url,
        jira_deployment=JiraDeployment.CLOUD if cloud else JiraDeployment.DATA_CENTER,
        jira_email=FakeJira.EMAIL if cloud else "",
        jira_api_token=FakeJira.API_TOKEN if cloud else "",
        jira_pat="" if cloud else FakeJira.PAT,
        jira_webhook_secret=secret,
    )


@pytest.fixture()
def jira_instance(db: None, fake_jira: FakeJira, people: dict[str, User]) -> Instance:
    return make_jira_instance(fake_jira)


@pytest.fixture()
def mapping(jira_instance: Instance) -> NotificationMapping:
    return NotificationMapping.objects.create(instance=jira_instance, name="Everything", batch_window_seconds=0)


def hook_path(instance: Instance) -> str:
    return reverse("jira-webhook", kwargs={"token": instance.jira_webhook_token})


def client_transport(client: Client) -> Any:
    """Deliveries through Django's test client (the view runs in this test's transaction)."""

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        extra = {k: v for k, v in headers.items() if k != "Content-Type"}
        response = client.post(urlsplit(url).path, data=body, content_type=headers["Content-Type"], headers=extra)
        return int(response.status_code)

    return send


@pytest.fixture()
def emitter(fake_jira: FakeJira, jira_instance: Instance, client: Client) -> WebhookEmitter:
    return WebhookEmitter(
        fake_jira, f"http://testserver{hook_path(jira_instance)}", secret=SECRET, transport=client_transport(client)
    )


@pytest.fixture()
def issue_key(jira_instance: Instance, people: dict[str, User]) -> str:
    """An issue made from a customer's mail (e-mail-only reporter), watched by Walt, assigned to Alice."""
    from trackers.interface import NewIssue
    from trackers.jira import tracker_for

    issue = tracker_for(jira_instance).create_issue(
        NewIssue(
            project_key="SUP",
            summary="Printer on fire",
            description="Please help.",
            assignee=people["agent"].account_id,
            watchers=(people["watcher"].account_id,),
            email_sender_address=CUSTOMER,
            email_sender_name="Carol Customer",
            source_message_id=1,
        )
    )
    return issue.key


# Real Dovecot mailboxes, shared with the inbound tests (the end-to-end test reads the customer's reply from one).
from tests.inbound.conftest import mailbox, mailbox_pool  # noqa: E402,F401
