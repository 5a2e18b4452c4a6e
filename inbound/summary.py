"""The few header facts an audit row needs (Message-ID, subject, sender, recipients), read robustly.

Only the header section is looked at, and only its first ``MAX_HEADER_BYTES``: any input, however
malformed, gives a summary (possibly empty), never an exception. The message-understanding library's
header reader (``inbound.mime.headers``) is used, and should it ever fail, the standard library parser (compat32).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from inbound.mime.controls import header_text
from inbound.mime.header_recovery import leading_header_start
from inbound.mime.headers import decode_words, parse_addresses, parse_message_ids, split_entity

MAX_HEADER_BYTES = 256 * 1024
MAX_VALUE_CHARS = 2000
MAX_ADDRESSES_PER_HEADER = 200
RECIPIENT_HEADERS = (
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "Resent-To",
    "Resent-Cc",
    "X-Forwarded-To",
)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class MailSummary:
    message_id: str = ""
    subject: str = ""
    sender: str = ""
    recipients: dict[str, list[str]] = field(default_factory=dict)


def header_block(raw: bytes) -> bytes:
    """The header section of ``raw`` (up to the blank line), capped at MAX_HEADER_BYTES. Blank or junk lines
    before it are left out where the parser skips them too (``inbound.mime.header_recovery``)."""
    start = leading_header_start(raw, 0, min(len(raw), 2 * MAX_HEADER_BYTES)) or 0
    match = _HEADER_END.search(raw, start, start + MAX_HEADER_BYTES)
    return raw[start : match.start()] + b"\r\n" if match else raw[start : start + MAX_HEADER_BYTES]


def summarize(raw: bytes) -> MailSummary:
    block = header_block(raw)
    try:
        return _summarize_with_mime(block)
    except Exception:
        pass
    try:
        return _summarize_with_stdlib(block)
    except Exception:
        return MailSummary()


def _clip(value: str) -> str:
    return " ".join(header_text(value).split())[:MAX_VALUE_CHARS]  # no control characters (inbound.mime.controls)


def _summarize_with_mime(block: bytes) -> MailSummary:
    headers, _, _ = split_entity(block, 0, len(block))
    ids = parse_message_ids(headers.get("Message-ID"), limit=1)
    senders = parse_addresses(headers.get("From")) or parse_addresses(headers.get("Sender"))
    recipients: dict[str, list[str]] = {}
    for name in RECIPIENT_HEADERS:
        found = [a.email for value in headers.get_all(name) for a in parse_addresses(value)]
        if found:
            recipients[name] = found[:MAX_ADDRESSES_PER_HEADER]
    return MailSummary(
        message_id=_clip(ids[0]) if ids else "",
        subject=_clip(decode_words(headers.get("Subject"))),
        sender=_clip(senders[0].email) if senders else "",
        recipients=recipients,
    )


def _summarize_with_stdlib(block: bytes) -> MailSummary:
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(block)

    def text(name: str) -> str:
        value = message.get(name)
        if value is None:
            return ""
        try:
            return str(make_header(decode_header(str(value))))
        except Exception:
            return str(value)

    def addresses(name: str) -> list[str]:
        values = [str(v)[: MAX_VALUE_CHARS * 8] for v in message.get_all(name) or []]
        try:
            return [addr for _, addr in getaddresses(values) if addr][:MAX_ADDRESSES_PER_HEADER]
        except Exception:
            return []

    ids = re.findall(r"<\s*([^<>\s]+?)\s*>", text("Message-ID"))
    message_id = ids[0] if ids else text("Message-ID").strip()
    senders = addresses("From") or addresses("Sender")
    recipients = {name: found for name in RECIPIENT_HEADERS if (found := addresses(name))}
    return MailSummary(
        message_id=_clip(message_id),
        subject=_clip(text("Subject")),
        sender=_clip(senders[0]) if senders else "",
        recipients=recipients,
    )
