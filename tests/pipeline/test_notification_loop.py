"""The loop closes: an issue created from mail notifies its participants over real SMTP; a reply to that
notification, fed back through a real Dovecot mailbox, becomes a comment on the same issue; an auto-reply to it
and our own notification coming back are dropped."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from inbound.models import InboundMessage
from inbound.retrieval import poll
from notifications.models import NotificationMapping
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.pipeline.conftest import OUR_MTA, mail, reasons
from trackers.models import Comment, Issue


@pytest.fixture()
def inline_processing(settings: Any) -> None:
    settings.JEMH_PROCESS_INLINE = True


def _poll(source: Any, capture: Any) -> None:
    with capture(execute=True):
        assert poll(source, force=True).status == "ok"


def _answer(notification: EmailMessage, **headers: str) -> bytes:
    """A reply to a notification, as a mail client writes it (to the Reply-To, threaded on the Message-ID)."""
    return mail(
        sender="Dan <dan@customer.example>",
        to=str(notification["Reply-To"]),
        subject=f"Re: {notification['Subject']}",
        body=headers.pop("body", "Dan here: it works again."),
        headers={
            "In-Reply-To": str(notification["Message-ID"]),
            "References": f"{notification['References']} {notification['Message-ID']}",
            **headers,
        },
    )


@pytest.mark.django_db
def test_reply_to_notification_comments_on_same_issue(
    smtp_mail, inline_processing, instance, profile, make_source, mailbox, django_capture_on_commit_callbacks
) -> None:
    NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=0)
    source = make_source(profile=profile, trusted_authserv_ids=OUR_MTA)
    # Carol's mail passed DMARC at our MTA: an authenticated reporter brings the people she copies along (issue 14)
    mailbox.append(mail(cc="Dan <dan@customer.example>", authenticated=True))
    _poll(source, django_capture_on_commit_callbacks)
    issue = Issue.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        flush_now(instance, issue.key)
    send_queued()
    received = by_recipient(smtp_mail.wait_for(3))
    # the participant Dan and the reporter (the mapping's default reporter account) are told; Carol created the
    # issue herself, and the person who made a change is not told of it: she gets the acknowledgement (issue 19)
    assert set(received) == {"dan@customer.example", "helpdesk@support.example.com", "carol@customer.example"}
    assert str(received["carol@customer.example"]["Subject"]).startswith(f"[{issue.key}] We received your request")
    notification = received["dan@customer.example"]
    assert issue.key in str(notification["Subject"])

    mailbox.append(_answer(notification))
    mailbox.append(
        _answer(
            notification,
            body="I am out of the office until Monday.",
            **{"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
        )
    )
    # our own mail arriving at the support mailbox (e.g. Dan's mailbox forwards to it), as the MTA delivers it
    notification_back = b"Delivered-To: support@support.example.com\r\n" + notification.as_bytes()
    mailbox.append(notification_back)
    _poll(source, django_capture_on_commit_callbacks)

    assert Issue.objects.count() == 1
    [comment] = Comment.objects.filter(issue=issue)
    assert comment.body.startswith("Dan here: it works again.")
    by_outcome = {m.outcome: m for m in InboundMessage.objects.exclude(outcome="created")}
    assert set(by_outcome) == {"commented", "dropped"}
    dropped = list(InboundMessage.objects.filter(outcome="dropped"))
    assert len(dropped) == 2
    steps = sorted(m.report["steps"][-1]["step"] for m in dropped)
    assert steps == ["auto_reply", "own_mail"], [reasons(m) for m in dropped]
    associated = by_outcome["commented"].report["steps"]
    association = next(s for s in associated if s["step"] == "association")
    assert association["details"]["strategy"] in {"own_message_id", "subject_key", "thread_headers"}
