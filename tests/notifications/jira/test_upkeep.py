"""Upkeep of Jira webhook deliveries: the sweeper queues a delivery whose task was lost, the purge removes expired
rows (never one still waiting), a deleted issue's people are found through the backend, and the admin lists
deliveries without their bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jemh.models import Instance
from notifications import tasks
from notifications.choices import DeliveryStatus, EventKind
from notifications.models import IssueEvent, NotificationMapping, WebhookDelivery
from notifications.retention import purge_expired_deliveries
from notifications.webhooks.processing import process_delivery
from notifications.webhooks.signature import sign
from tests.notifications.jira.conftest import SECRET, hook_path
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.webhooks import WebhookEmitter


@pytest.fixture()
def eager_celery() -> Iterator[None]:
    from jemh.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db
def test_sweep_runs_a_delivery_whose_task_was_lost(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any, eager_celery: None
) -> None:
    deliveries = emitter.comment_as(people["agent"], issue_key, "Lost task")  # on_commit never ran: no task
    assert [d.status for d in deliveries] == [202, 202]
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).count() == 2
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert tasks.sweep()["webhook_deliveries"] == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert IssueEvent.objects.count() == 1


@pytest.mark.django_db
def test_purge_removes_expired_deliveries_but_not_waiting_ones(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any
) -> None:
    first, second = emitter.comment_as(people["agent"], issue_key, "Expiring")
    process_delivery(WebhookDelivery.objects.get(identifier=first.identifier).pk)
    later = timezone.now() + timedelta(days=8)
    assert purge_expired_deliveries(later) == 1  # the processed one; the other still waits for its task
    assert list(WebhookDelivery.objects.values_list("identifier", flat=True)) == [second.identifier]
    assert purge_expired_deliveries() == 0


@pytest.mark.django_db
def test_a_deleted_issue_notifies_its_people_found_through_the_backend(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any, fake_jira: FakeJira,
    jira_instance: Instance, smtp_mail: Any,
) -> None:  # fmt: skip
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    body = emitter._envelope("jira:issue_deleted", people["lead"], issue=emitter.issue(issue))
    fake_jira.state.delete_issue(issue_key)
    assert emitter.deliver(body).status == 202
    assert process_delivery(WebhookDelivery.objects.get().pk) == DeliveryStatus.PROCESSED
    event = IssueEvent.objects.get()
    assert event.kind == EventKind.DELETED
    assert event.payload["issue"]["assignee"]["email"] == "alice@acme.example"  # not in a Cloud payload
    from tests.notifications.helpers import by_recipient, flush_now, send_queued

    flush_now(jira_instance, issue_key)
    send_queued()
    assert set(by_recipient(smtp_mail.wait_for(1))) == {"alice@acme.example"}


@pytest.mark.django_db
def test_a_body_with_a_bad_issue_key_is_refused(client: Client, jira_instance: Instance) -> None:
    NotificationMapping.objects.create(instance=jira_instance, name="None wanted", event_kinds=[])
    for key in ("X", "SUP-", "sup 1"):
        body = json.dumps(
            {"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_updated", "issue": {"key": key}}
        ).encode()
        response = client.post(
            hook_path(jira_instance), data=body, content_type="application/json",
            headers={"X-Hub-Signature": sign(SECRET, body)},
        )  # fmt: skip
        assert response.status_code == 400, key
    assert not WebhookDelivery.objects.exists() and not IssueEvent.objects.exists()


@pytest.mark.django_db
def test_admin_lists_deliveries_without_their_bodies(
    admin_client: Client, emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any
) -> None:
    emitter.comment_as(people["agent"], issue_key, "A secret-ish body text")
    page = admin_client.get(reverse("admin:notifications_webhookdelivery_changelist")).content.decode()
    assert "comment_created" in page and "A secret-ish body text" not in page
    delivery = WebhookDelivery.objects.first()
    assert delivery is not None
    detail = admin_client.get(reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk]))
    assert detail.status_code == 200 and "A secret-ish body text" not in detail.content.decode()
