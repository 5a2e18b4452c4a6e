"""Each classification rule and its reason text; people's mail must not be flagged."""

from __future__ import annotations

import pytest

from inbound.mime import ClassifierConfig, classify, parse


def mail(headers: str = "", body: str = "Thanks, that fixed it.\n", sender: str = "Jane <jane@example.com>") -> bytes:
    head = f"From: {sender}\nTo: support@example.com\nSubject: Re: my ticket\nMessage-ID: <m1@mail.example.com>\n"
    return (head + headers + "\n" + body).replace("\n", "\r\n").encode()


def test_a_persons_reply_is_not_flagged() -> None:
    verdict = parse(mail()).classification
    assert not any((verdict.auto_reply, verdict.bounce, verdict.bulk, verdict.list, verdict.spam, verdict.loop))
    assert verdict.reasons == ()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto-reply: Auto-Submitted: auto-replied (RFC 3834)"),
        ("Auto-Submitted: auto-generated", "auto-reply: Auto-Submitted: auto-generated (RFC 3834)"),
        ("X-Autoreply: yes", "auto-reply: X-Autoreply header (vacation responders, iCloud)"),
        ("X-Autorespond: yes", "auto-reply: X-Autorespond header (cPanel/Exim autoresponder)"),
        ("Precedence: auto_reply", "auto-reply: Precedence: auto_reply"),
        (
            "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
            "auto-reply: X-MS-Exchange-Generated-Message-Source (Exchange agent)",
        ),
        (
            "X-MS-Exchange-Inbox-Rules-Loop: jane@example.com",
            "auto-reply: X-MS-Exchange-Inbox-Rules-Loop (sent by an Exchange inbox rule)",
        ),
    ],
)
def test_auto_reply_markers(header: str, reason: str) -> None:
    verdict = parse(mail(header + "\n")).classification
    assert verdict.auto_reply and reason in verdict.reasons


def test_auto_submitted_no_is_a_person() -> None:
    assert not parse(mail("Auto-Submitted: no\n")).classification.auto_reply


def test_auto_response_suppress_alone_is_not_an_auto_reply() -> None:
    # Outlook sets it on meeting requests and other ordinary mail: it asks others not to auto-reply.
    assert not parse(mail("X-Auto-Response-Suppress: All\n")).classification.auto_reply
    meeting = mail("X-Auto-Response-Suppress: RN, NRN, OOF\nThread-Topic: my ticket\n")
    assert not parse(meeting).classification.auto_reply


def test_exchange_out_of_office_subject_with_suppress_header() -> None:
    raw = mail("X-Auto-Response-Suppress: All\n")
    raw = raw.replace(b"Subject: Re: my ticket", b"Subject: Automatic reply: my ticket")
    verdict = parse(raw).classification
    assert verdict.auto_reply
    assert any("X-Auto-Response-Suppress" in r for r in verdict.reasons)


def test_out_of_office_subject_alone_is_not_enough() -> None:
    raw = mail().replace(b"Subject: Re: my ticket", b"Subject: Out of office next week, please read")
    assert not parse(raw).classification.auto_reply


@pytest.mark.parametrize(
    ("header", "bulk", "is_list"),
    [
        ("Precedence: bulk", True, False),
        ("Precedence: junk", True, False),
        ("Precedence: list", False, True),
        ("List-Id: <dev.lists.example.com>", False, True),
        ("List-Unsubscribe: <mailto:u@example.com>", True, False),
    ],
)
def test_bulk_and_list(header: str, bulk: bool, is_list: bool) -> None:
    verdict = parse(mail(header + "\n")).classification
    assert (verdict.bulk, verdict.list) == (bulk, is_list)
    assert any(r.startswith("bulk/list: ") for r in verdict.reasons)


@pytest.mark.parametrize(
    "header", ["X-Spam-Flag: YES", "X-Spam-Status: Yes, score=9.1", "X-Spam: yes", "X-MS-Exchange-Organization-SCL: 7"]
)
def test_spam(header: str) -> None:
    verdict = parse(mail(header + "\n")).classification
    assert verdict.spam and any(r.startswith("spam: ") for r in verdict.reasons)


def test_spam_status_no_is_not_spam() -> None:
    assert not parse(mail("X-Spam-Status: No, score=0.1\nX-Spam-Flag: NO\n")).classification.spam


def test_loop_by_fingerprint_header_default_and_configured() -> None:
    assert parse(mail("X-JEMH-Fingerprint: abc\n")).classification.loop
    config = ClassifierConfig(fingerprint_header="X-Our-Mark", fingerprint_value="v1")
    assert parse(mail("X-Our-Mark: v1\n"), config=config).classification.loop
    assert not parse(mail("X-Our-Mark: other\n"), config=config).classification.loop


def test_loop_by_our_message_id_domain() -> None:
    message = parse(mail())
    config = ClassifierConfig(own_message_id_domains=("mail.example.com",))
    verdict = classify(message, config)
    assert verdict.loop and "loop: Message-ID m1@mail.example.com is from our own domain" in verdict.reasons
    assert not classify(message).loop


def test_dsn_report_gives_failed_recipients() -> None:
    body = (
        "--r\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
        "Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.4.1\n"
        "--r--\n"
    )
    raw = mail(
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n",
        body,
        sender="MAILER-DAEMON@mx.example.com",
    )
    verdict = parse(raw).classification
    assert verdict.bounce and verdict.bounced_recipients == ("gone@example.org",) and not verdict.bounce_temporary
    assert "bounce: delivery status notification (multipart/report; RFC 3464)" in verdict.reasons


def test_x_failed_recipients() -> None:
    verdict = parse(mail("X-Failed-Recipients: lost@example.net\n")).classification
    assert verdict.bounce and verdict.bounced_recipients == ("lost@example.net",)


@pytest.mark.parametrize(
    ("sender", "subject", "body", "recipient"),
    [
        (
            "MAILER-DAEMON@mx.example.com",
            "failure notice",
            "Hi. This is the qmail-send program at mx.example.com.\nI'm afraid I wasn't able to deliver your message "
            "to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<nobody1@example.org>:\nSorry, no mailbox here by that name.\n",
            "nobody1@example.org",
        ),
        (
            "MAILER-DAEMON@mx.example.com",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mx.example.com.\n\nI'm sorry to have to inform you that your message "
            "could not\nbe delivered to one or more recipients.\n\n<nobody2@example.org>: host mx2 said: 550 5.1.1 "
            "User unknown\n",
            "nobody2@example.org",
        ),
        (
            "Mail Delivery System <Mailer-Daemon@mx.example.com>",
            "Mail delivery failed: returning message to sender",
            "This message was created automatically by mail delivery software.\n\nA message that you sent could not "
            "be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) "
            "failed:\n\n  nobody3@example.org\n    SMTP error from remote mail server after RCPT TO:\n",
            "nobody3@example.org",
        ),
        (
            "postmaster@outlook.example.com",
            "Undeliverable: hello",
            "Delivery has failed to these recipients or groups:\n\nnobody4@example.org<mailto:nobody4@example.org>\n"
            "The email address you entered couldn't be found.\n",
            "nobody4@example.org",
        ),
    ],
)
def test_mta_templates(sender: str, subject: str, body: str, recipient: str) -> None:
    raw = mail(body=body, sender=sender).replace(b"Subject: Re: my ticket", f"Subject: {subject}".encode())
    verdict = parse(raw).classification
    assert verdict.bounce and verdict.bounced_recipients == (recipient,), verdict


def test_person_writing_about_a_failed_delivery_is_not_a_bounce() -> None:
    body = "Hi, my message could not be delivered to bob@example.org, user unknown it said. Can you check?\n"
    assert not parse(mail(body=body)).classification.bounce
