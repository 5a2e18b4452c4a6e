"""Requesters hear back (issue 19): the person whose mail created an issue, also one without an account, gets an
acknowledgement with the key and how to reply, over the real SMTP server, although "don't notify the person who
made the change" is on; never for automated mail, never for a comment, never to a From that nothing authenticated
(backscatter: anyone can write a victim's address there), and not from mappings made before it existed (their
migration keeps it off).

Seen: an e-mail-only reporter got no "we received your request SUP-3" mail; the creation notice went to the
default reporter only."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.models import InboundMessage
from jemh.models import Instance
from notifications.models import IssueEvent, NotificationMapping
from profiles.models import Profile
from tests.notifications.helpers import by_recipient, flush_now, parts, send_queued
from tests.pipeline.conftest import OUR_MTA, authentication_results, mail
from trackers.models import Issue


@pytest.fixture()
def mapping(instance: Instance) -> NotificationMapping:
    return NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=0)


def _notify(instance: Instance, key: str, capture: Any) -> None:
    with capture(execute=True):
        flush_now(instance, key)
    send_queued()


def test_an_email_only_requester_is_acknowledged_over_smtp(
    instance: Instance,
    profile: Profile,
    mapping: NotificationMapping,
    deliver: Any,
    smtp_mail: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert mapping.acknowledge_requester and mapping.skip_actor  # on by default in a new mapping
    # Carol's mail passed DMARC at our MTA (the source trusts its Authentication-Results)
    message = deliver(
        mail(subject="Printer on fire", sender="Carol Customer <carol@customer.example>", authenticated=True)
    )
    assert message.outcome == "created"
    issue = Issue.objects.get()
    assert issue.reporter is not None and issue.email_sender_address == "carol@customer.example"
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    received = by_recipient(smtp_mail.wait_for(2))
    assert set(received) == {"carol@customer.example", "helpdesk@support.example.com"}
    ack = received["carol@customer.example"]
    assert str(ack["Subject"]) == f"[{issue.key}] We received your request: Printer on fire"
    text, html = parts(ack)
    assert f"It is {issue.key}" in text and "reply to this mail" in text
    assert issue.key in html
    assert str(ack["Reply-To"]).startswith("support+")  # a reply comes back to the issue
    notice = received["helpdesk@support.example.com"]  # the others get the usual creation notice
    assert "We received" not in str(notice["Subject"])

    # her reply is a comment: she made that change herself and hears nothing of it
    reply = mail(
        sender="Carol Customer <carol@customer.example>",
        to=str(ack["Reply-To"]),
        subject=f"Re: {ack['Subject']}",
        body="It is still burning.",
        headers={"In-Reply-To": str(ack["Message-ID"]), "References": str(ack["Message-ID"])},
    )
    assert deliver(reply).outcome == "commented"
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    later = smtp_mail.wait_for(3)
    assert [m.envelope_to for m in later[2:]] == [["helpdesk@support.example.com"]]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
        {"Precedence": "bulk", "List-Id": "<news.customer.example>"},
    ],
    ids=["auto-reply", "bulk"],
)
def test_automated_mail_is_never_acknowledged(
    instance: Instance,
    profile: Profile,
    mapping: NotificationMapping,
    deliver: Any,
    smtp_mail: Any,
    django_capture_on_commit_callbacks: Any,
    headers: dict[str, str],
) -> None:
    Profile.objects.filter(pk=profile.pk).update(auto_reply_action="allow", bulk_action="allow")
    message = deliver(mail(subject="Out of office", headers=headers, authenticated=True))
    assert message.outcome == "created", message.report
    issue = Issue.objects.get()
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    received = by_recipient(smtp_mail.wait_for(2, timeout=2))
    assert set(received) == {"helpdesk@support.example.com"}


def test_a_mapping_without_acknowledgements_leaves_the_requester_alone(
    instance: Instance,
    profile: Profile,
    mapping: NotificationMapping,
    deliver: Any,
    smtp_mail: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    NotificationMapping.objects.filter(pk=mapping.pk).update(acknowledge_requester=False)
    deliver(mail(authenticated=True))
    issue = Issue.objects.get()
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    assert set(by_recipient(smtp_mail.wait_for(2, timeout=2))) == {"helpdesk@support.example.com"}
    assert InboundMessage.objects.get().outcome == "created"


def test_a_forged_from_is_not_acknowledged(
    instance: Instance,
    profile: Profile,
    mapping: NotificationMapping,
    deliver: Any,
    smtp_mail: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Acknowledgements went to the unauthenticated From: anyone could make us mail a victim (backscatter)."""
    forged = mail(
        sender="Victim <victim@elsewhere.example>",
        subject="Cheap pills",
        headers={"Authentication-Results": authentication_results("victim@elsewhere.example", "mx.attacker.net")},
    )
    assert deliver(forged).outcome == "created"  # the request is still taken, as e-mail-only
    issue = Issue.objects.get()
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    assert set(by_recipient(smtp_mail.wait_for(2, timeout=2))) == {"helpdesk@support.example.com"}
    created = IssueEvent.objects.get(issue_key=issue.key, kind="created")
    assert "requester not acknowledged: their mail was not authenticated" in created.reason


def test_an_unauthenticated_from_with_a_passing_envelope_is_acknowledged_at_the_envelope(
    instance: Instance,
    profile: Profile,
    mapping: NotificationMapping,
    deliver: Any,
    smtp_mail: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Where a hint may go, an acknowledgement may: SPF passed for the envelope sender, not aligned with the From."""
    raw = mail(
        sender="Carol Customer <carol@customer.example>",
        headers={"Authentication-Results": f"{OUR_MTA}; spf=pass smtp.mailfrom=bounces@mailer.example"},
    )
    assert deliver(raw).outcome == "created"
    issue = Issue.objects.get()
    _notify(instance, issue.key, django_capture_on_commit_callbacks)
    received = by_recipient(smtp_mail.wait_for(2))
    assert set(received) == {"bounces@mailer.example", "helpdesk@support.example.com"}
    assert "We received your request" in str(received["bounces@mailer.example"]["Subject"])
