"""Notification mail as bytes: threading and loop-safety headers, one message per recipient.

:func:`build_message` gives the Django email of one recipient. :class:`MessageFactory` builds the messages of one
rendered mail for all its recipients: the first through :func:`build_message`, the others by reusing its
serialised body and shared headers and writing only what differs per recipient (To, Reply-To, Message-ID,
In-Reply-To, References), folded by the same email policy. Serialising the MIME tree (the header folding above
all) is the costly part of building a notification, and it is the same for every recipient of the same mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage as ParsedEmail
from email.utils import parseaddr
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers

from notifications import threading
from notifications.header_values import safe_filename
from notifications.rendering import RenderedMail

LOOP_SAFETY_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
    "Precedence": "bulk",
}
REFERENCES_KEPT = 10  # previous notifications listed in References (after the root)
PER_RECIPIENT = ("To", "Reply-To", "Message-ID", "In-Reply-To", "References")


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content: bytes
    content_type: str


def thread_headers(instance_id: int, issue_key: str, previous: Sequence[str]) -> dict[str, str]:
    """In-Reply-To and References: the issue's root id first, then the notifications of the issue this recipient
    already got (oldest first, the last few)."""
    root = threading.thread_root_id(instance_id, issue_key)
    chain = [root, *[m for m in previous[-REFERENCES_KEPT:] if m != root]]
    return {"In-Reply-To": chain[-1], "References": " ".join(chain)}


def build_message(
    *,
    instance_id: int,
    issue_key: str,
    recipient: str,
    rendered: RenderedMail,
    message_id: str,
    previous_ids: Sequence[str] = (),
    from_address: str = "",
    reply_address: str = "",
    attachments: Sequence[MailAttachment] = (),
) -> EmailMessage:
    """The Django email for one recipient, with every threading and loop-safety header set."""
    headers = {
        "Message-ID": message_id,
        **thread_headers(instance_id, issue_key, previous_ids),
        threading.FINGERPRINT_HEADER: threading.fingerprint_for(instance_id),
        **LOOP_SAFETY_HEADERS,
    }
    reply_to = [threading.reply_address_for(reply_address, instance_id, issue_key, recipient)] if reply_address else []
    sender = from_address or settings.DEFAULT_FROM_EMAIL
    if rendered.text is not None:
        message: EmailMessage = EmailMultiAlternatives(
            rendered.subject, rendered.text, sender, [recipient], headers=headers, reply_to=reply_to
        )
        if rendered.html is not None:
            message.attach_alternative(rendered.html, "text/html")  # type: ignore[attr-defined]  # an EmailMultiAlternatives here
    else:
        message = EmailMessage(
            rendered.subject, rendered.html or "", sender, [recipient], headers=headers, reply_to=reply_to
        )
        message.content_subtype = "html"
    for item in attachments:
        message.attach(safe_filename(item.filename), item.content, item.content_type)
    return message


class StoredEmail(EmailMessage):
    """An already-built message (bytes from storage) handed to a Django email backend unchanged.

    For backends that keep the message object (locmem, as in tests) its subject, body, headers and attachments
    read like an ordinary Django email's, taken from the bytes (parsed on first use, read-only)."""

    def __init__(self, raw: bytes, from_email: str, to: list[str]) -> None:
        self.raw = raw
        super().__init__(from_email=from_email, to=to)

    def message(self, *, policy: object = None) -> _RawMessage:  # type: ignore[override]  # returns the stored bytes as they are
        return _RawMessage(self.raw)

    @cached_property
    def parsed(self) -> ParsedEmail:
        return message_from_bytes(self.raw, policy=email_policy.default)

    def _ignored(self, value: object) -> None:
        """EmailMessage.__init__ sets the fields below; here they are the stored message's."""

    subject = property(lambda self: str(self.parsed.get("Subject", "")), _ignored)
    extra_headers = property(lambda self: {k: str(v) for k, v in self.parsed.items()}, _ignored)

    @property
    def body(self) -> str:
        part = self.parsed.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""

    @body.setter
    def body(self, value: object) -> None:
        pass

    @property
    def attachments(self) -> list[tuple[str, Any, str]]:
        return [
            (part.get_filename() or "", part.get_content(), part.get_content_type())
            for part in self.parsed.iter_attachments()
        ]

    @attachments.setter
    def attachments(self, value: object) -> None:
        pass


class _RawMessage:
    """Quacks like the MIME object Django's backends serialise (as_bytes, get_charset)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return re.sub(rb"\r?\n", linesep.encode("ascii"), self.raw)

    def get_charset(self) -> None:
        return None


@dataclass(frozen=True)
class PreparedMail:
    """A message already in memory (just built by the flush): sent without reading and decrypting its blob."""

    raw: bytes
    sender: str
    recipients: tuple[str, ...]


class MessageFactory:
    """The messages of one rendered mail (same sender, reply address, attachments) for several recipients."""

    def __init__(
        self,
        *,
        instance_id: int,
        issue_key: str,
        rendered: RenderedMail,
        from_address: str = "",
        reply_address: str = "",
        attachments: Sequence[MailAttachment] = (),
    ) -> None:
        self.instance_id, self.issue_key, self.rendered = instance_id, issue_key, rendered
        self.from_address, self.reply_address, self.attachments = from_address, reply_address, attachments
        self._shared: tuple[bytes, bytes, Any, str] | None = None  # shared headers, body, policy, encoding
        self.sender = ""

    def build(self, recipient: str, message_id: str, previous_ids: Sequence[str] = ()) -> bytes:
        """The message to ``recipient`` as bytes (LF line ends, as Django's ``as_bytes``)."""
        if self._shared is None:
            email = build_message(
                instance_id=self.instance_id,
                issue_key=self.issue_key,
                recipient=recipient,
                rendered=self.rendered,
                message_id=message_id,
                previous_ids=previous_ids,
                from_address=self.from_address,
                reply_address=self.reply_address,
                attachments=self.attachments,
            )
            self.sender = parseaddr(email.from_email)[1] or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
            message = email.message()
            raw = message.as_bytes()
            policy = message.policy.clone(linesep="\n")
            shared = b"".join(
                policy.fold_binary(name, value) for name, value in message.raw_items() if name not in PER_RECIPIENT
            )
            body = raw[raw.index(b"\n\n") + 1 :]  # the blank line and everything after it
            self._shared = (shared, body, policy, email.encoding or settings.DEFAULT_CHARSET)
            return raw
        shared, body, policy, encoding = self._shared
        headers = [("To", recipient)]
        if self.reply_address:
            headers.append(
                (
                    "Reply-To",
                    threading.reply_address_for(self.reply_address, self.instance_id, self.issue_key, recipient),
                )
            )
        headers.append(("Message-ID", message_id))
        headers.extend(thread_headers(self.instance_id, self.issue_key, previous_ids).items())
        own = b"".join(policy.fold_binary(*forbid_multi_line_headers(name, value, encoding)) for name, value in headers)
        return shared + own + body
