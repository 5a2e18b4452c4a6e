"""From a stored delivery to notification mail: the task's work (Jira asked through the backend), dedupe of a
comment sent twice, recipients without addresses in the payload, attachments fetched from Jira, and our own changes
made from mail not notifying their sender."""

from __future__ import annotations

from typing import Any

import pytest

from jemh.models import Instance
from notifications.choices import DeliveryStatus, EventKind, EventStatus
from notifications.models import IssueEvent, NotificationMapping, WebhookDelivery
from notifications.webhooks.processing import process_delivery
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.notifications.jira.conftest import CUSTOMER
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.webhooks import WebhookEmitter
from trackers.interface import NewComment, NewIssue
from trackers.jira import tracker_for


def process_all() -> list[str]:
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).order_by("pk")
    return [process_delivery(pk) for pk in pending.values_list("pk", flat=True)]


def notify(instance: Instance, issue_key: str, smtp: Any, expected: int) -> dict[str, Any]:
    flush_now(instance, issue_key)
    send_queued()
    return by_recipient(smtp.wait_for(expected)) if expected else {}


@pytest.mark.django_db
def test_jira_comment_sent_twice_notifies_each_recipient_once(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any, jira_instance: Instance,
    smtp_mail: Any, fake_jira: FakeJira,
) -> None:  # fmt: skip
    deliveries = emitter.comment_as(people["agent"], issue_key, "A new toner is on its way.")
    assert [d.status for d in deliveries] == [202, 202]
    if fake_jira.flavour == "cloud":  # modern Cloud payloads carry no addresses: the backend finds them
        assert "@" not in str(deliveries[0].json["comment"]["author"])
    else:  # Data Center's comment_created names the issue only in comment.self
        assert "issue" not in deliveries[0].json
    assert process_all() == [DeliveryStatus.PROCESSED, DeliveryStatus.PROCESSED]
    [event] = IssueEvent.objects.all()
    assert (event.kind, event.issue_key, event.project_key) == (EventKind.COMMENTED, issue_key, "SUP")
    assert event.actor["account_id"] == people["agent"].account_id
    second = WebhookDelivery.objects.get(identifier=deliveries[1].identifier)
    assert "same event" in second.reason and second.event_id == event.pk and second.body == ""

    received = notify(jira_instance, issue_key, smtp_mail, 2)
    # Carol (e-mail-only reporter) and Walt (watcher) are told; Alice wrote the comment; each gets one mail
    assert set(received) == {CUSTOMER, "walt@acme.example"}
    text = received[CUSTOMER].get_body(("plain",)).get_content()
    assert "A new toner is on its way." in text
    assert len(smtp_mail.received) == 2
    event.refresh_from_db()
    assert event.status == EventStatus.NOTIFIED


@pytest.mark.django_db
def test_our_own_comment_from_mail_does_not_notify_its_sender(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, jira_instance: Instance, smtp_mail: Any
) -> None:
    emitter.background = False
    emitter.follow_api()
    tracker_for(jira_instance).add_comment(
        issue_key,
        NewComment(body="Thanks, **it works** again.", author_email=CUSTOMER, author_name="Carol", source_message_id=7),
    )
    deliveries = emitter.deliver_followed()
    assert [d.status for d in deliveries] == [202, 202]
    assert process_all() == [DeliveryStatus.PROCESSED, DeliveryStatus.PROCESSED]
    [event] = IssueEvent.objects.all()
    assert event.actor["email"] == CUSTOMER  # the API account wrote it, on behalf of Carol's mail
    assert "own comment" in event.payload["own_change"]
    received = notify(jira_instance, issue_key, smtp_mail, 2)
    assert set(received) == {"alice@acme.example", "walt@acme.example"}  # not Carol: it is her own mail
    text = received["walt@acme.example"].get_body(("plain",)).get_content()
    assert "it works" in text
    event.refresh_from_db()
    assert event.status == EventStatus.NOTIFIED


@pytest.mark.django_db
def test_our_own_issue_and_the_update_a_reply_made_do_not_notify_its_sender(
    emitter: WebhookEmitter, mapping: NotificationMapping, jira_instance: Instance, people: Any, smtp_mail: Any
) -> None:
    emitter.background = False
    emitter.follow_api()
    tracker = tracker_for(jira_instance)
    issue = tracker.create_issue(
        NewIssue(
            project_key="SUP",
            summary="Scanner jammed",
            watchers=(people["watcher"].account_id,),
            email_sender_address=CUSTOMER,
            source_message_id=3,
        )
    )
    tracker.add_comment(issue.key, NewComment(body="Solved it myself.", author_email=CUSTOMER, source_message_id=4))
    tracker.transition_issue(issue.key, "Resolved")  # the workflow advance the reply asked for
    deliveries = emitter.deliver_followed()
    assert [d.json["webhookEvent"] for d in deliveries] == [
        "jira:issue_created", "comment_created", "jira:issue_updated", "jira:issue_updated",
    ]  # fmt: skip
    assert all(d.status == 202 for d in deliveries)
    process_all()
    events = {e.kind: e for e in IssueEvent.objects.all()}
    assert set(events) == {EventKind.CREATED, EventKind.COMMENTED, EventKind.RESOLVED}
    assert {e.actor["email"] for e in events.values()} == {CUSTOMER}
    received = notify(jira_instance, issue.key, smtp_mail, 1)
    assert set(received) == {"walt@acme.example"}  # one mail for all three; nothing for Carol


@pytest.mark.django_db
def test_a_change_by_a_jira_user_notifies_the_customer_with_the_files_fetched_from_jira(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, jira_instance: Instance, people: Any,
    smtp_mail: Any,
) -> None:  # fmt: skip
    mapping.include_attachments = True
    mapping.notify_watchers = False
    mapping.save()
    delivery = emitter.attach_as(people["agent"], issue_key, "driver-notes.txt", b"install driver 4.2", "text/plain")
    assert delivery.status == 202
    assert process_all() == [DeliveryStatus.PROCESSED]
    event = IssueEvent.objects.get()
    assert event.kind == EventKind.UPDATED and event.payload["changes"][0]["new"] == "driver-notes.txt"
    received = notify(jira_instance, issue_key, smtp_mail, 1)
    [attachment] = list(received[CUSTOMER].iter_attachments())
    assert attachment.get_filename() == "driver-notes.txt"
    assert attachment.get_content() in ("install driver 4.2", b"install driver 4.2")


@pytest.mark.django_db
def test_delivery_is_processed_once_however_often_its_task_runs(
    emitter: WebhookEmitter, issue_key: str, mapping: NotificationMapping, people: Any
) -> None:
    first, _ = emitter.comment_as(people["agent"], issue_key, "Once")
    assert process_delivery(WebhookDelivery.objects.get(identifier=first.identifier).pk) == DeliveryStatus.PROCESSED
    assert process_delivery(WebhookDelivery.objects.get(identifier=first.identifier).pk) == "done"
    assert IssueEvent.objects.count() == 1
