"""The immutable results of understanding a message: addresses, attachments, classification, the message."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_FINGERPRINT_HEADER = "X-JEMH-Fingerprint"


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: a display name (may be empty) and an address (lower-cased domain kept as written)."""

    name: str
    email: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file part of the message; the payload is kept but left out of equality and repr.

    ``signature`` marks a PGP/S-MIME signature part: listed by ``jemh inspect``, never a user attachment.
    """

    filename: str
    content_type: str
    size: int
    inline: bool
    content_id: str
    sha256: str
    payload: bytes = field(default=b"", compare=False, repr=False)
    signature: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "inline": self.inline,
            "content_id": self.content_id,
            "sha256": self.sha256,
            "signature": self.signature,
        }


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    """What the classifier needs to know about us: how our own outbound mail is marked.

    ``fingerprint_value`` empty means "any value of the fingerprint header marks our mail".
    ``allow_remote_images`` keeps remote ``<img src>`` in sanitised HTML (off by default).
    """

    fingerprint_header: str = DEFAULT_FINGERPRINT_HEADER
    fingerprint_value: str = ""
    own_message_id_domains: tuple[str, ...] = ()
    allow_remote_images: bool = False


@dataclass(frozen=True, slots=True)
class Classification:
    """Verdicts about a message, each with the reasons that led to it (human-readable, one per rule)."""

    auto_reply: bool = False
    bounce: bool = False
    bounced_recipients: tuple[str, ...] = ()
    bulk: bool = False
    list: bool = False
    spam: bool = False
    loop: bool = False
    reasons: tuple[str, ...] = ()
    bounce_temporary: bool = False

    @property
    def automated(self) -> bool:
        """True when any verdict says a machine, not a person, wrote this."""
        return self.auto_reply or self.bounce or self.bulk or self.list or self.loop

    def to_dict(self) -> dict[str, Any]:
        return {
            "auto_reply": self.auto_reply,
            "bounce": self.bounce,
            "bounced_recipients": list(self.bounced_recipients),
            "bounce_temporary": self.bounce_temporary,
            "bulk": self.bulk,
            "list": self.list,
            "spam": self.spam,
            "loop": self.loop,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything later pipeline steps need from one raw message. Every field is always present."""

    error: str | None = None  # what was lost: content cut by a cap, or what could not be read
    defects: tuple[str, ...] = ()  # damage repaired without loss (a missing final boundary, a guessed one)
    message_id: str = ""
    subject: str = ""
    normalized_subject: str = ""
    from_: Address | None = None
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    body_text: str = ""
    body_html: str = ""
    reply_text: str = ""
    attachments: tuple[Attachment, ...] = ()  # the user's files (what may become tracker attachments)
    signatures: tuple[Attachment, ...] = field(default=(), repr=False)  # signature parts, listed by inspect only
    classification: Classification = field(default_factory=Classification)
    headers: tuple[tuple[str, str], ...] = ()
    delivered_to: tuple[str, ...] = ()
    return_path: str | None = None
    content_type: str = "text/plain"
    report_type: str = ""
    reports: tuple[str, ...] = field(default=(), repr=False)
    enclosed_headers: tuple[tuple[tuple[str, str], ...], ...] = field(default=(), repr=False)
    _first_values: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        first: dict[str, str] = {}  # lower-case name → first value: header() is asked some 30 times per message
        for key, value in self.headers:
            first.setdefault(key.lower(), value)
        object.__setattr__(self, "_first_values", first)

    @property
    def auto_generated(self) -> bool:
        """A machine wrote this (auto-reply, bounce, bulk or list mail, or our own mail looping back)."""
        return self.classification.automated

    def header(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (case-insensitive) among the kept headers."""
        return self._first_values.get(name.lower(), default)

    def header_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    def replace(self, **changes: Any) -> ParsedMessage:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``jemh inspect`` (without ``file``)."""
        return {
            "error": self.error,
            "defects": list(self.defects),
            "message_id": self.message_id,
            "subject": self.subject,
            "normalized_subject": self.normalized_subject,
            "from": self.from_.to_dict() if self.from_ else None,
            "to": [a.to_dict() for a in self.to],
            "cc": [a.to_dict() for a in self.cc],
            "reply_to": [a.to_dict() for a in self.reply_to],
            "date": self.date.isoformat() if self.date else None,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "body_text": self.body_text,
            "body_html": self.body_html,
            "reply_text": self.reply_text,
            "attachments": [a.to_dict() for a in self.attachments + self.signatures],
            "classification": self.classification.to_dict(),
            "delivered_to": list(self.delivered_to),
        }
