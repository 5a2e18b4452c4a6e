"""Bounces and auto-replies that are not RFC 3464/3834 by the book, and people's mail that only looks like one.

Every bounce verdict rests on a machine signal (a null or daemon sender, a report part, a server's own template,
an SES notification, a list manager); words in a person's quoted history are never one (issue 16).
"""

from __future__ import annotations

import json

import pytest

from inbound.mime import ClassifierConfig, classify, parse


def raw(head: str, body: str) -> bytes:
    return (head.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


# -- item 3: never drop a person's mail on a signal from quoted history ----------------------------------------
OUTLOOK_REPLY_QUOTING_A_BOUNCE = raw(
    """
From: Carla Customer <carla@customer.example>
To: Support <support@example.com>
Subject: RE: Undeliverable: Your order 1234
Message-ID: <DB7PR01MB@customer.example>
Return-Path: <carla@customer.example>
Content-Type: text/plain; charset=utf-8
""",
    """Hi, your mail bounced because my old address is gone. Please use this one from now on.

Carla

________________________________
From: Microsoft Outlook <postmaster@customer.example>
Sent: Monday, 3 March 2025 10:12
To: support@example.com
Subject: Undeliverable: Your order 1234

Your message to old@customer.example couldn't be delivered.
Delivery has failed to these recipients or groups:
old@customer.example
The e-mail address you entered couldn't be found. Subject: Your order 1234 not delivered
""",
)


def test_outlook_reply_quoting_a_bounce_is_a_person() -> None:
    # Regression: a customer's reply whose quoted history was an NDR was dropped as a bounce.
    verdict = parse(OUTLOOK_REPLY_QUOTING_A_BOUNCE).classification
    assert not verdict.bounce, verdict.reasons
    assert not verdict.auto_reply


def test_a_person_writing_bounce_words_in_new_mail_is_a_person() -> None:
    message = raw(
        "From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Delivery failure on your side?",
        "Our mail to you could not be delivered, the recipient address was rejected. Can you check?\n",
    )
    assert not parse(message).classification.bounce


def test_a_server_template_without_a_daemon_sender_is_a_bounce() -> None:
    # qmail's own opening line is a machine signal even when the sender address is an ordinary one.
    message = raw(
        "From: alerts@mx.example.net\nTo: support@example.com\nSubject: failure notice",
        "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message"
        " to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n",
    )
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounced_recipients == ("gone@example.net",)


# -- item 4: bounces that are not RFC 3464 reports -----------------------------------------------------------
def test_delivery_status_inside_multipart_mixed() -> None:
    message = raw(
        """
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: support@example.com
Subject: Returned mail
Content-Type: multipart/mixed; boundary="b1"
""",
        """--b1
Content-Type: text/plain

The message below could not be delivered.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; lost@example.net
Action: failed
Status: 5.1.1
--b1--
""",
    )
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounced_recipients == ("lost@example.net",)


def test_a_read_receipt_is_not_a_bounce() -> None:
    # RFC 8098 receipts carry Final-Recipient too, but report a disposition, not a failed delivery.
    message = raw(
        """
From: Joe <joe@example.net>
To: support@example.com
Subject: Read: my ticket
Content-Type: multipart/report; report-type=disposition-notification; boundary="b1"
""",
        """--b1
Content-Type: text/plain

Your message was displayed.
--b1
Content-Type: message/disposition-notification

Reporting-UA: joes-pc.example.net; Foomail 97.1
Original-Recipient: rfc822;joe@example.net
Final-Recipient: rfc822;joe@example.net
Disposition: manual-action/MDN-sent-manually; displayed
--b1--
""",
    )
    assert not parse(message).classification.bounce


def _ses(bounce_type: str) -> dict[str, object]:
    # The shape documented in "Amazon SNS notification examples for Amazon SES".
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "jane@example.net", "status": "5.1.1", "action": "failed"}],
            "reportingMTA": "dns; email.example.net",
        },
        "mail": {"source": "support@example.com", "destination": ["jane@example.net"]},
    }


@pytest.mark.parametrize("wrapped", [False, True])
def test_amazon_ses_bounce_notification(wrapped: bool) -> None:
    payload: dict[str, object] = _ses("Permanent")
    if wrapped:  # SNS "email-json" delivery: the SES document is the envelope's Message string
        payload = {"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:b", "Message": json.dumps(payload)}
    message = raw(
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: support@example.com\nSubject: AWS Notification"
        " Message",
        json.dumps(payload, indent=2) + "\n",
    )
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounced_recipients == ("jane@example.net",)
    assert not verdict.bounce_temporary


def test_amazon_ses_transient_bounce_is_temporary() -> None:
    head = "From: no-reply@sns.amazonaws.com\nTo: support@example.com\nSubject: n"
    message = raw(head, json.dumps(_ses("Transient")))
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounce_temporary


def test_json_that_is_not_an_ses_bounce_is_ordinary() -> None:
    message = raw("From: dev@example.org\nTo: support@example.com\nSubject: log", '{"bounce": 1, "type": "x"}\n')
    assert not parse(message).classification.bounce


def test_mailman_non_member_refusal_is_a_bounce() -> None:
    message = raw(
        """
From: dev-owner@lists.example.org
To: support@example.com
Subject: Your message to Dev awaits moderator approval
X-Mailman-Version: 2.1.39
X-List-Administrivia: yes
""",
        "Your mail to 'Dev' with the subject\n\n    Printer on fire\n\nIs being held until the list moderator can"
        " review it for approval.\n\nThe reason it is being held:\n\n    Post by non-member to a members-only list\n\n"
        "You are not a member of the dev@lists.example.org list.\n",
    )
    verdict = parse(message).classification
    assert verdict.bounce
    assert verdict.bounced_recipients == ("dev@lists.example.org",)


def test_a_list_post_saying_not_a_member_is_not_a_bounce() -> None:
    # Every post a Mailman list distributes carries X-Mailman-Version and a -bounces Sender: not a list notice.
    message = raw(
        """
From: Ann <ann@example.org>
Sender: dev-bounces@lists.example.org
To: dev@lists.example.org
Subject: announce list
X-Mailman-Version: 2.1.39
List-Id: <dev.lists.example.org>
""",
        "You are not subscribed to the announce list yet; please subscribe there too.\n",
    )
    assert not parse(message).classification.bounce


def test_a_person_saying_not_a_member_is_not_a_bounce() -> None:
    message = raw(
        "From: Ann <ann@example.org>\nTo: support@example.com\nSubject: access",
        "I am not a member of the list, can you add me?\n",
    )
    assert not parse(message).classification.bounce


def test_japanese_carrier_notice_from_a_daemon() -> None:
    message = raw(
        "From: MAILER-DAEMON@mail.example.ne.jp\nTo: support@example.com\nSubject: =?UTF-8?B?"
        "5LiN6YGU?=\nContent-Type: text/plain; charset=utf-8",
        "次のアドレスへのメールは宛先不明のため送信できませんでした。\n\nabc@example.ne.jp\n",
    )
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounced_recipients == ("abc@example.ne.jp",)


def test_null_from_address_is_a_delivery_system() -> None:
    message = raw(
        'From: "Jetmail System" <>\nTo: support@example.com\nSubject: Mail Error',
        "Your mail cannot be delivered to the following address(es):\n\n lost@example.net\n",
    )
    assert parse(message).classification.bounce


# -- item 2: auto-replies -----------------------------------------------------------------------------------
def mail(subject: str, body: str = "I am away until Monday and will answer then.\n", headers: str = "") -> bytes:
    head = f"From: Jane <jane@example.net>\nTo: support@example.com\nSubject: {subject}\n{headers}"
    return raw(head, body)


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Printer on fire",
        "Out of Office: Printer on fire",
        "Out of Office AutoReply: Printer on fire",
        "Abwesenheitsnotiz: Drucker brennt",
        "Automatische Antwort: Drucker brennt",
        "Réponse automatique : Imprimante en feu",
        "Respuesta automática: Impresora",
        "Risposta automatica: Stampante",
        "Automatisch antwoord: Printer",
        "Automatiskt svar: Skrivare",
        "Odpowiedź automatyczna: Drukarka",
        "Автоответ: Принтер",
        "自動応答: プリンター",
        "自动回复: 打印机",
    ],
)
def test_localised_out_of_office_subject_with_a_short_body(subject: str) -> None:
    verdict = parse(mail(subject)).classification
    assert verdict.auto_reply, verdict.reasons


def test_a_persons_reply_to_an_out_of_office_is_not_flagged() -> None:
    message = mail("Re: Automatic reply: Printer on fire", "Thanks, see you Monday.\n")
    assert not parse(message).classification.auto_reply


def test_out_of_office_subject_with_a_long_body_needs_more() -> None:
    assert not parse(mail("Out of Office: plan", "A long report about our plans.\n" * 200)).classification.auto_reply


def test_out_of_office_subject_answering_our_mail_is_an_auto_reply() -> None:
    long = mail("Out of Office: Printer on fire", "text\n" * 600, "In-Reply-To: <n42@tickets.example.com>\n")
    message = parse(long)
    config = ClassifierConfig(own_message_id_domains=("tickets.example.com",))
    assert classify(message, config).auto_reply
    assert not classify(message).auto_reply


@pytest.mark.parametrize("header", ["X-Apple-Action: vacation", "X-Autoresponder: yes"])
def test_vendor_auto_reply_markers(header: str) -> None:
    assert parse(mail("Away", headers=header + "\n")).classification.auto_reply


@pytest.mark.parametrize("subject", ["Out of office plans for August", "Auto: Reifenwechsel", "Vacation: days off"])
def test_a_new_mail_with_a_look_alike_subject_is_not_flagged(subject: str) -> None:
    assert not parse(mail(subject, "Can we talk about this on Monday?\n")).classification.auto_reply


@pytest.mark.parametrize(
    ("head", "body", "recipient"),
    [
        (  # Lotus Domino: the router's template from its Postmaster address
            "From: Postmaster@notes.example.net\nSubject: DELIVERY FAILURE: User jdoe (jdoe@notes.example.net) not"
            " listed in Domino Directory",
            "Your message\n\n  Subject: Printer\n\nwas not delivered to:\n\n  jdoe@notes.example.net\n\nbecause:\n\n"
            "  User jdoe (jdoe@notes.example.net) not listed in Domino Directory\n",
            "jdoe@notes.example.net",
        ),
        (  # Novell GroupWise: its template opening, from an ordinary-looking gateway address
            "From: gwia@gw.example.net\nSubject: Message status - undeliverable",
            "The message that you sent was undeliverable to the following:\n\tsmith@gw.example.net (user not found)\n",
            "smith@gw.example.net",
        ),
        (  # a content gateway named by its address (McAfee, Symantec, Trend Micro IMSS write so)
            "From: McAfee_Email_Gateway@mx.example.net\nSubject: Mail could not be delivered",
            "Mail could not be delivered to the following recipient(s):\n\nkim@example.net\n",
            "kim@example.net",
        ),
        (  # Exchange marks its reports with X-MS-Exchange-Message-Is-Ndr
            "From: Help Desk <helpdesk@example.net>\nX-MS-Exchange-Message-Is-Ndr:\nSubject: Undeliverable: Printer",
            "Delivery has failed to these recipients or groups:\n\nlee@example.net\n",
            "lee@example.net",
        ),
    ],
)
def test_plain_text_templates_with_a_machine_signal(head: str, body: str, recipient: str) -> None:
    verdict = parse(raw(head + "\nTo: support@example.com", body)).classification
    assert verdict.bounce, verdict.reasons
    assert recipient in verdict.bounced_recipients


def test_vacation_reply_with_failure_words_is_not_a_bounce() -> None:
    # Auto-Submitted says software wrote it, but without a failure subject it is an auto-reply, not a bounce.
    message = raw(
        "From: Jane <jane@example.net>\nTo: support@example.com\nSubject: Away\nAuto-Submitted: auto-replied",
        "I am away and cannot be reached until Monday; your message was not delivered to my deputy.\n",
    )
    verdict = parse(message).classification
    assert verdict.auto_reply and not verdict.bounce


def test_delivery_status_naming_only_the_original_recipient() -> None:
    # Some servers omit Final-Recipient (RFC 3464 requires it); the part is still a delivery-status report.
    message = raw(
        """
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: support@example.com
Subject: Delivery report
Content-Type: multipart/mixed; boundary="b1"
""",
        """--b1
Content-Type: text/plain

See the report.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Original-Recipient: rfc822; gone@example.net
Action: failed
Status: 5.1.1
--b1--
""",
    )
    verdict = parse(message).classification
    assert verdict.bounce and verdict.bounced_recipients == ("gone@example.net",)
