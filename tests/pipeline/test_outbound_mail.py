"""Hints and forwards are outbound mail like notifications (issue 12, the outbound audit): each is recorded as an
OutboundMessage of its kind, linked to the inbound message, sent through the real SMTP server, never twice for the
same inbound message, and retried through an SMTP outage instead of being lost."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.pipeline.service import process_inbound
from jemh.storage import blob_storage
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage
from notifications.sending import send_many
from tests.pipeline.conftest import mail
from tests.services.base import free_port

pytestmark = pytest.mark.django_db


def rejected(deliver: Any, profile: Any, message_id: str = "<late@customer.example>") -> Any:
    """A reply rejected by the comment limit (a hint is due: it is authenticated), after the one comment it
    allows."""
    profile.max_comments_per_issue = 1
    profile.save()
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    assert deliver(mail(subject=f"Re: {key}", body="one")).outcome == "commented"
    message = deliver(mail(subject=f"Re: {key}", body="two", message_id=message_id, authenticated=True))
    assert message.outcome == "rejected"
    return message


def run_again(message: Any, profile: Any) -> Any:
    """Process a finished message again, as after a crash before its audit row was updated."""
    type(message).objects.filter(pk=message.pk).update(status="received", outcome="")  # InboundStatus.RECEIVED
    process_inbound(message.pk, profile_id=profile.pk)
    message.refresh_from_db()
    return message


def test_a_hint_is_recorded_and_sent_through_smtp(deliver, profile, smtp_mail) -> None:
    message = rejected(deliver, profile)
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["carol@customer.example"]
    sent = received.message
    assert sent["Auto-Submitted"] == "auto-replied" and sent["In-Reply-To"] == "<late@customer.example>"
    [row] = OutboundMessage.objects.all()
    assert (row.kind, row.status, row.attempts, row.inbound_id) == (OutboundKind.HINT, "sent", 1, message.pk)
    assert row.recipients == ["carol@customer.example"] and row.subject == str(sent["Subject"])
    assert row.message_id == sent["Message-ID"] and row.issue_key  # the issue the rejected reply was about
    assert b"carol@customer.example" in blob_storage().read_bytes(row.blob_name)
    assert message.report["hint"].startswith("sent")


def test_a_rerun_of_the_same_message_does_not_send_the_hint_twice(deliver, profile, smtp_mail) -> None:
    message = rejected(deliver, profile)
    assert len(smtp_mail.wait_for(1)) == 1
    again = run_again(message, profile)
    assert again.outcome == "rejected"
    assert again.report["hint"].startswith("not sent again: sent for an earlier run of this message")
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert OutboundMessage.objects.filter(kind=OutboundKind.HINT).count() == 1


def test_a_hint_during_an_smtp_outage_is_retried_and_sent_once_later(deliver, profile, smtp_mail, settings) -> None:
    settings.EMAIL_PORT = free_port()  # nothing listens: the server is down
    message = rejected(deliver, profile)
    [row] = OutboundMessage.objects.filter(kind=OutboundKind.HINT)
    assert (row.status, row.attempts) == (OutboundStatus.RETRYING, 0), "an outage spends no attempt"
    assert row.unreachable_since is not None and row.next_attempt_at is not None and row.blob_name
    assert message.report["hint"].startswith("queued, to be retried: SMTP server unreachable")
    assert run_again(message, profile).report["hint"].startswith("not sent again")  # still one row, not doubled
    assert OutboundMessage.objects.filter(kind=OutboundKind.HINT).count() == 1
    assert smtp_mail.received == []

    settings.EMAIL_PORT = smtp_mail.port  # the server is back: the retry (what the sweep queues) sends it
    assert send_many([row.pk])[row.pk].status == OutboundStatus.SENT
    assert send_many([row.pk])[row.pk].status == OutboundStatus.SENT  # not claimable again: nothing sent
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["carol@customer.example"]
    assert received.message["In-Reply-To"] == "<late@customer.example>"
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1


def test_the_hint_content_is_not_kept_when_the_instance_opted_out(deliver, profile, instance, smtp_mail) -> None:
    instance.store_outbound_mail = False
    instance.save()
    rejected(deliver, profile)
    assert len(smtp_mail.wait_for(1)) == 1
    [row] = OutboundMessage.objects.filter(kind=OutboundKind.HINT)
    assert row.status == OutboundStatus.SENT and row.blob_name == "" and not row.keep_blob
    assert row.recipients == ["carol@customer.example"]  # the audit row itself stays


def test_a_forward_is_recorded_and_sent_through_smtp_once(deliver, profile, smtp_mail) -> None:
    profile.non_catch_action = "forward"
    profile.save()
    message = deliver(mail(to="someone-else@support.example.com"))
    assert message.outcome == "forwarded" and message.report["forwarded_to"] == 1
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["admin@support.example.com"]
    [attached] = list(received.message.iter_attachments())
    assert attached.get_content_type() == "message/rfc822" and attached.get_filename() == "original.eml"
    [row] = OutboundMessage.objects.all()
    assert (row.kind, row.status, row.inbound_id) == (OutboundKind.FORWARD, OutboundStatus.SENT, message.pk)
    assert row.subject.startswith("[JEMH forwarded] Printer on fire")
    run_again(message, profile)
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert OutboundMessage.objects.filter(kind=OutboundKind.FORWARD).count() == 1
