"""Mail of an instance configured to send through Microsoft Graph goes out with Graph's sendMail (MIME, base64,
text/plain) to a fake Graph on loopback, as the instance's Microsoft OAuth app; the SMTP server (EMAIL_URL) is not
used for it, and Graph's failures cost what SMTP's do (an outage waits with no attempt spent, a refusal is final)."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

import pytest
from django.core.mail import EmailMessage

from jemh.models import Instance, OAuthApp, OAuthProvider
from notifications import threading
from notifications.choices import OutboundKind, OutboundStatus
from notifications.graph_sending import with_recipients
from notifications.models import NotificationMapping, OutboundMessage
from notifications.services import send_mail
from tests.inbound.fake_graph import CLIENT_ID, CLIENT_SECRET, MAILBOX, TENANT, FakeGraph, FakeIdentity
from tests.notifications.helpers import flush_now, send_queued
from tests.notifications.test_sending import PARTICIPANT, new_issue


@pytest.fixture()
def through_graph(instance: Instance, microsoft: tuple[FakeIdentity, FakeGraph]) -> FakeGraph:
    identity, graph = microsoft
    OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.MICROSOFT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        tenant=TENANT,
        issuer_url=identity.issuer,
    )
    instance.graph_send_as = MAILBOX
    instance.save(update_fields=["graph_send_as"])
    return graph


def test_notifications_are_sent_with_graph_sendmail(
    tracker: Any, mapping: NotificationMapping, through_graph: FakeGraph, smtp_mail: Any
) -> None:
    issue = new_issue(tracker)
    instance = Instance.objects.get(pk=mapping.instance_id)
    result = flush_now(instance, issue.key)
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * len(result.outbound_ids)
    assert len(through_graph.sent) == len(result.outbound_ids) >= 2
    assert smtp_mail.received == []  # EMAIL_URL's server is not used for this instance
    assert {sent.mailbox for sent in through_graph.sent} == {MAILBOX}
    assert {sent.content_type for sent in through_graph.sent} == {"text/plain"}
    mails = {str(m["To"]): m for m in (message_from_bytes(s.raw, policy=policy.default) for s in through_graph.sent)}
    message = mails[PARTICIPANT]
    assert message["Subject"] == f"[{issue.key}] Printer on fire"
    assert threading.parse_our_message_id(message["Message-ID"]) == (instance.pk, issue.key)
    assert threading.is_our_fingerprint(message[threading.FINGERPRINT_HEADER])
    row = OutboundMessage.objects.get(pk=result.outbound_ids[0])
    assert row.status == OutboundStatus.SENT and row.attempts == 1


def alert(instance: Instance, key: str) -> list[Any]:
    message = EmailMessage("Source down", "The mailbox fails.", "jemh@example.test", ["admin@example.test"])
    return send_mail(kind=OutboundKind.ALERT, instance=instance, message=message, idempotency_key=key)


def test_graph_throttling_is_an_outage_and_a_refusal_is_final(instance: Instance, through_graph: FakeGraph) -> None:
    through_graph.throttle("POST */sendMail", count=10, retry_after="600")
    waiting = alert(instance, "alert:1")[0]
    row = OutboundMessage.objects.get(pk=waiting.outbound_id)
    assert row.status == OutboundStatus.RETRYING and row.attempts == 0  # waits for Graph, no attempt spent
    assert "throttled" in row.error and through_graph.sent == []

    through_graph.faults.clear()
    through_graph.fail("POST */sendMail", count=1, status=400)
    refused = alert(instance, "alert:2")[0]
    row = OutboundMessage.objects.get(pk=refused.outbound_id)
    assert row.status == OutboundStatus.FAILED and "Microsoft Graph refused the message" in row.error

    sent = alert(instance, "alert:3")[0]
    assert sent.status == OutboundStatus.SENT
    assert [str(message_from_bytes(s.raw)["Subject"]) for s in through_graph.sent] == ["Source down"]


def test_an_instance_without_graph_keeps_sending_through_its_mail_backend(
    instance: Instance, microsoft: tuple[FakeIdentity, FakeGraph], mailoutbox: list[Any]
) -> None:
    _identity, graph = microsoft
    assert alert(instance, "alert:plain")[0].status == OutboundStatus.SENT
    assert len(mailoutbox) == 1 and graph.sent == []


def test_envelope_recipients_the_headers_do_not_name_are_added_as_bcc() -> None:
    raw = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: x\r\n\r\nbody\r\n"
    assert with_recipients(raw, ["B@example.test"]) == raw
    widened = message_from_bytes(with_recipients(raw, ["b@example.test", "c@example.test"]))
    assert widened["Bcc"] == "c@example.test" and widened["To"] == "b@example.test"
