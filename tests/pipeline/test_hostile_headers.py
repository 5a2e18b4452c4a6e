"""Headers we reuse are clean (issue 14): a decoded header's line breaks and control characters never reach a header
we send, and file names lose bidirectional controls. Through the real SMTP server, as the attacker would try it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from inbound.mime import parse
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage
from notifications.services import send_mail
from tests.pipeline.conftest import mail
from trackers.models import Attachment

pytestmark = pytest.mark.django_db

# "Printer on fire<CR><LF>Bcc: victim@elsewhere.example<NUL>", as an encoded word: a header of its own once decoded
INJECTED = "=?utf-8?q?Printer_on_fire=0D=0ABcc:_victim@elsewhere.example=00?="
FOLDED = "Printer on fire Bcc: victim@elsewhere.example"


def with_subject(raw: bytes, subject: str, name: str = "Subject") -> bytes:
    """``raw`` with its header ``name`` replaced by ``subject``, written as given (encoded words stay encoded)."""
    head, _, body = raw.partition(b"\n\n")
    lines = [line for line in head.split(b"\n") if not line.startswith(name.encode() + b":")]
    return b"\n".join([*lines, f"{name}: {subject}".encode()]) + b"\n\n" + body


def only_header_lines(received: Any) -> list[str]:
    head = received.data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return [line.decode("ascii", "replace") for line in head.splitlines()]


def test_the_decoded_subject_is_folded_by_the_parser() -> None:
    message = parse(with_subject(mail(), INJECTED))
    assert message.subject == FOLDED
    sender = parse(with_subject(mail(), "=?utf-8?q?Eve=0D=0ABcc=3A_x=40y=2Eexample?= <eve@customer.example>", "From"))
    assert sender.from_ is not None and sender.from_.name == "Eve Bcc: x@y.example"


def test_an_encoded_line_break_in_the_subject_is_forwarded_on_one_line(deliver, profile, smtp_mail) -> None:
    """Regression: such a subject made Django refuse the forward (BadHeaderError) and the message ended in error."""
    profile.non_catch_action = "forward"
    profile.save()
    message = deliver(with_subject(mail(to="someone-else@support.example.com"), INJECTED))
    assert message.outcome == "forwarded", message.report
    assert message.subject == FOLDED  # the audit row too: no NUL, no line break
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["admin@support.example.com"]  # nobody else was added
    assert received.message["Subject"] == f"[JEMH forwarded] {FOLDED}"
    assert received.message["Bcc"] is None
    assert not any(line.startswith("Bcc:") for line in only_header_lines(received))
    [row] = OutboundMessage.objects.filter(kind=OutboundKind.FORWARD)
    assert row.status == OutboundStatus.SENT and row.subject == f"[JEMH forwarded] {FOLDED}"


def test_an_encoded_line_break_in_the_subject_still_gets_its_hint(deliver, profile, smtp_mail) -> None:
    """Regression: the hint for such a subject was silently not sent (its EmailMessage raised BadHeaderError)."""
    profile.max_comments_per_issue = 1  # the second reply is rejected by the comment limit, with a hint
    profile.save()
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    assert deliver(mail(subject=f"Re: {key}", body="one")).outcome == "commented"
    message = deliver(
        with_subject(mail(body="two", authenticated=True), f"Re: {key} {INJECTED}")
    )  # hints: authenticated only
    assert message.outcome == "rejected", message.report
    assert message.report["hint"].startswith("sent"), message.report["hint"]
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["carol@customer.example"]
    assert FOLDED in str(received.message["Subject"])
    assert not any(line.startswith("Bcc:") for line in only_header_lines(received))


def test_send_mail_folds_any_header_value_it_is_given(instance, smtp_mail) -> None:
    """The outgoing boundary: a line break from anywhere (an issue summary, a template) never starts a header."""
    message = EmailMessage(
        subject="Alert\r\nBcc: victim@elsewhere.example",
        body="text",
        from_email="Support\n <support@support.example.com>",
        to=["admin@support.example.com"],
        headers={"X-Note": "one\r\nX-Injected: yes"},
    )
    [sent] = send_mail(kind=OutboundKind.ALERT, instance=instance, message=message)
    assert sent.status == OutboundStatus.SENT, sent.detail
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["admin@support.example.com"]
    assert received.message["Subject"] == "Alert Bcc: victim@elsewhere.example"
    assert received.message["X-Injected"] is None and received.message["X-Note"] == "one X-Injected: yes"


BIDI_NAME = "invoice\u202efdp.exe"  # shows as "invoiceexe.pdf"


def test_a_bidi_override_file_name_is_cleaned(deliver) -> None:
    raw = mail(
        attachments=[(BIDI_NAME, "application/octet-stream", b"MZ..."), ("a\u2066b\u2069\x07.txt", "text/plain", b"x")]
    )
    [attachment, other] = parse(raw).attachments
    assert attachment.filename == "invoicefdp.exe" and other.filename == "ab.txt"
    message = deliver(raw)
    assert message.outcome == "created", message.report
    names = sorted(Attachment.objects.values_list("filename", flat=True))
    assert names == ["ab.txt", "invoicefdp.exe"]
    for name in names:
        assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or ord(c) < 0x20 for c in name)


def test_notification_attachments_lose_bidi_controls_too() -> None:
    from notifications.messages import MailAttachment, build_message
    from notifications.rendering import RenderedMail

    built = build_message(
        instance_id=1,
        issue_key="SUP-1",
        recipient="dan@customer.example",
        rendered=RenderedMail(subject="SUP-1 updated", text="text", html=None),
        message_id="<n1@support.example.com>",
        attachments=[MailAttachment(BIDI_NAME, b"MZ", "application/octet-stream")],
    )
    parsed = parse(built.message().as_bytes())
    assert [a.filename for a in parsed.attachments] == ["invoicefdp.exe"]
