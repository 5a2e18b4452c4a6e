"""End to end through real servers: a person comments in (the fake) Jira → Jira's signed webhook over HTTP to our
endpoint (a live server) → the task in a real Celery worker (Redis) → notification mail over real SMTP → the
customer's reply in a real Dovecot mailbox → polled, processed by the worker → a comment on the same Jira issue →
which comes back as a webhook and notifies the others, not the customer who wrote it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from inbound.models import InboundMessage, Security, Source, SourceKind
from inbound.retrieval import poll
from jemh.models import Instance
from notifications.choices import DeliveryStatus, EventStatus, OutboundStatus
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage, WebhookDelivery
from profiles.models import CatchAddress, Profile, ProjectMapping
from tests.inbound.conftest import Mailbox
from tests.notifications.jira.conftest import CUSTOMER, SECRET, hook_path
from tests.pipeline.conftest import mail
from tests.profiles.conftest import DEFAULT_MAPPING
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.webhooks import WebhookEmitter

SUPPORT = "support@support.example.com"


@pytest.fixture()
def worker(redis_server: Any, memory_broker: None) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    from jemh.celery import app
    from tests.services.celery import celery_pointed_at

    with (
        celery_pointed_at(redis_server.url),  # the environment's broker too, which Celery reads first
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield


def wait_until(check: Any, what: Any, timeout: float = 45.0) -> None:
    """Poll ``check`` with a deadline; ``what`` (text, or a callable giving it) says what did not happen."""
    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OperationalError:  # SQLite's shared test database while the worker writes: look again
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")


def settled() -> bool:
    return (
        not WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).exists()
        and not IssueEvent.objects.filter(status__in=[EventStatus.PENDING, EventStatus.PROCESSING]).exists()
        and not OutboundMessage.objects.exclude(status=OutboundStatus.SENT).exists()
    )


def reply_to(notification: EmailMessage) -> bytes:
    return mail(
        sender="Carol Customer <carol@customer.example>",
        to=str(notification["Reply-To"]),
        subject=f"Re: {notification['Subject']}",
        body="Thank you, the printer prints again.\n\n> earlier text\n",
        headers={
            "In-Reply-To": str(notification["Message-ID"]),
            "References": f"{notification.get('References', '')} {notification['Message-ID']}".strip(),
        },
    )


@pytest.mark.django_db(transaction=True)
def test_jira_comment_to_mail_to_reply_to_jira_comment(
    live_server: Any, worker: None, smtp_mail: Any, fake_jira: FakeJira, people: Any, jira_instance: Instance,
    issue_key: str, mailbox: Mailbox, settings: Any,
) -> None:  # fmt: skip
    settings.JEMH_MESSAGE_ID_DOMAIN = "support.example.com"
    NotificationMapping.objects.create(instance=jira_instance, name="Everything", batch_window_seconds=0)
    profile = Profile.objects.create(instance=jira_instance, name="Support", reply_address=SUPPORT)
    helpdesk = fake_jira.state.add_user("helpdesk", "helpdesk@acme.example", "Helpdesk")
    ProjectMapping.objects.create(profile=profile, **{**DEFAULT_MAPPING, "default_reporter": helpdesk.account_id})
    CatchAddress.objects.create(profile=profile, address=SUPPORT)
    source = Source.objects.create(
        instance=jira_instance, profile=profile, name="support", kind=SourceKind.IMAP, host=mailbox.host,
        port=mailbox.imap_port, security=Security.NONE, username=mailbox.username, password=mailbox.password,
    )  # fmt: skip
    emitter = WebhookEmitter(fake_jira, f"{live_server.url}{hook_path(jira_instance)}", secret=SECRET)
    emitter.follow_api()  # what our backend writes to Jira comes back as webhooks, as in a real site

    # 1. Alice answers in Jira: two signed deliveries over HTTP, one notification each for Carol and Walt
    deliveries = emitter.comment_as(people["agent"], issue_key, "We replaced the fuser; please try again.")
    assert [d.status for d in deliveries] == [202, 202]
    wait_until(lambda: len(smtp_mail.received) >= 2 and settled(), "the notifications of Alice's comment")
    first = {rcpt: m.message for m in smtp_mail.received for rcpt in m.envelope_to}
    assert set(first) == {CUSTOMER, "walt@acme.example"} and len(smtp_mail.received) == 2
    notification = first[CUSTOMER]
    assert issue_key in str(notification["Subject"])
    assert "We replaced the fuser" in notification.get_body(("plain",)).get_content()

    # 2. Carol replies to the notification: captured from Dovecot, processed by the worker, a comment in Jira
    mailbox.append(reply_to(notification))
    assert poll(source, force=True).status == "ok"
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    wait_until(
        lambda: len(issue.comments) == 2,
        lambda: f"Carol's reply as a comment on the Jira issue ({list(InboundMessage.objects.values('report'))})",
    )
    wait_until(lambda: InboundMessage.objects.get().outcome == "commented", "the reply's outcome")
    message = InboundMessage.objects.get()
    reply = issue.comments[1]
    assert reply.author == fake_jira.service.account_id  # written by our API account...
    assert reply.properties["jemh"]["authorEmail"] == CUSTOMER  # ...for Carol's mail
    assert "the printer prints again" in str(reply.body)
    assert message.issue_key == issue_key

    # 3. Jira tells us about that comment: Alice and Walt hear of it; Carol, who wrote it, does not
    emitter.wait()
    wait_until(lambda: len(smtp_mail.received) >= 4 and settled(), "the notifications of Carol's comment")
    time.sleep(0.5)  # nothing else may arrive
    second = [rcpt for m in smtp_mail.received[2:] for rcpt in m.envelope_to]
    assert sorted(second) == ["alice@acme.example", "walt@acme.example"]
    events = list(IssueEvent.objects.order_by("pk"))
    assert len(events) == 2 and events[1].actor["email"] == CUSTOMER
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PROCESSED).count() == 4
    assert all(d.body == "" for d in WebhookDelivery.objects.all())
