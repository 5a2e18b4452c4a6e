"""Jira webhooks keep the backend's issue-state cache fresh (issue 13): a delivery about an issue makes the next read
of it ask Jira, so an agent's change in Jira is seen at once; a refused delivery changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from jemh.models import Instance
from notifications.models import WebhookDelivery
from notifications.webhooks.processing import process_delivery
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.webhooks import WebhookEmitter
from trackers.jira import tracker_for
from trackers.jira.tracker import JiraTracker
from trackers.models import JiraIssueState


def fresh_tracker(instance: Instance) -> JiraTracker:
    """A tracker object as a worker process has it (only the database is shared)."""
    return tracker_for(instance)


@pytest.mark.django_db
def test_a_jira_comment_webhook_makes_the_next_read_ask_jira(
    emitter: WebhookEmitter, issue_key: str, people: Any, jira_instance: Instance, fake_jira: FakeJira
) -> None:
    fake_jira.calls.clear()
    kept = fresh_tracker(jira_instance).get_issue(issue_key)
    assert kept.comment_count == 0 and fake_jira.count("getIssue") == 0  # kept when it was created
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    forged = {**emitter.headers(b"{}"), "X-Hub-Signature": "sha256=" + "0" * 64}
    refused = emitter.deliver(emitter.comment_created(issue, _a_comment(fake_jira)), headers=forged)
    assert refused.status == 401
    assert fresh_tracker(jira_instance).get_issue(issue_key).comment_count == 0  # a forged delivery changes nothing
    assert fake_jira.count("getIssue") == 0

    deliveries = emitter.comment_as(people["agent"], issue_key, "We are on it.")  # an agent comments in Jira
    assert [d.status for d in deliveries] == [202, 202]
    seen = fresh_tracker(jira_instance).get_issue(issue_key)
    assert seen.comment_count == 1 and fake_jira.count("getIssue") == 1  # seen at once, not after the TTL
    assert fresh_tracker(jira_instance).get_issue(issue_key).comment_count == 1
    assert fake_jira.count("getIssue") == 1  # and kept again


@pytest.mark.django_db
@pytest.mark.parametrize("fake_jira", ["datacenter"], indirect=True)  # Cloud's names the key: the intake forgets it
def test_a_delivery_naming_the_issue_by_id_only_forgets_it_when_processed(
    emitter: WebhookEmitter, issue_key: str, people: Any, jira_instance: Instance, fake_jira: FakeJira
) -> None:
    """Data Center's comment_created names the issue by id: the key is known once the task asked Jira."""
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    delivery = emitter.deliver(emitter.comment_created(issue, _a_comment(fake_jira)))
    assert delivery.status == 202
    fresh_tracker(jira_instance).get_issue(issue_key)  # kept (again)
    row = JiraIssueState.objects.get(issue_key=issue_key)
    assert row.state is not None
    stored = WebhookDelivery.objects.get(identifier=delivery.identifier)  # kept: its project is not known yet
    process_delivery(stored.pk)
    assert JiraIssueState.objects.get(issue_key=issue_key).state is None


def _a_comment(fake: FakeJira) -> Any:
    from tests.trackers.jira_fake.state import Comment, now

    agent = fake.state.user_by_name("alice")
    assert agent is not None
    return Comment(fake.state.next_id(), agent.account_id, "Checking." if fake.flavour != "cloud" else {
        "type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]},
        now())  # fmt: skip


@pytest.mark.django_db
def test_the_webhooks_of_our_own_comment_keep_the_kept_state(
    emitter: WebhookEmitter, issue_key: str, people: Any, jira_instance: Instance, fake_jira: FakeJira
) -> None:
    """Our comment comes back as comment_created and issue_commented: counted in already, so the next reply still
    costs one call; an agent's comment right after it is read again."""
    from trackers.interface import NewComment

    made = fresh_tracker(jira_instance).add_comment(issue_key, NewComment("From mail", author_email="c@x.example"))
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    ours = next(c for c in issue.comments if c.id == made.id)
    service = fake_jira.state.user(ours.author)
    assert service is not None
    echoes = [
        emitter.deliver(emitter.comment_created(issue, ours)),
        emitter.deliver(emitter.issue_commented(issue, ours, service)),
    ]
    assert [d.status for d in echoes] == [202, 202]
    fake_jira.calls.clear()
    assert fresh_tracker(jira_instance).get_issue(issue_key).comment_count == 1
    assert fake_jira.count("getIssue") == 0
    emitter.comment_as(people["agent"], issue_key, "Agent here.")
    assert fresh_tracker(jira_instance).get_issue(issue_key).comment_count == 2
    assert fake_jira.count("getIssue") == 1
