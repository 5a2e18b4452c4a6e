"""The draft: what the content handlers build for the tracker, and the action step writes.

Rules never touch it; the handlers (pre-processing, directives, content, attachments, users) fill it in, in
chain order, and the action step turns it into a new issue or a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.mime import Attachment
from trackers.interface import AttachmentUpload, TrackerUser


@dataclass(frozen=True)
class GeneratedFile:
    """A file the pipeline made itself (e.g. the full text of a truncated body), attached after the mail's own."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class SkippedAttachment:
    """An attachment of the mail that does not go to the tracker, and why."""

    filename: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "reason": self.reason}


@dataclass
class People:
    """Who the mail involves, as the tracker knows them."""

    sender_account: TrackerUser | None = None  # the sender's tracker account; None: an email-only sender
    participants: list[str] = field(default_factory=list)  # email-only participants' addresses
    watchers: list[str] = field(default_factory=list)  # account ids


@dataclass
class Draft:
    """The issue or comment being prepared."""

    summary: str = ""  # the subject after clean-ups and directives (a new issue's summary)
    body: str = ""  # the whole new text after clean-ups and directives
    reply: str = ""  # the reply text (above the quoted history), after the same clean-ups
    fields: dict[str, str] = field(default_factory=dict)  # directive values, by directive name
    text: str = ""  # the description or the comment, as the content step made it
    attachments: list[Attachment] = field(default_factory=list)  # the mail's attachments that go along
    skipped: list[SkippedAttachment] = field(default_factory=list)
    inline_images: list[str] = field(default_factory=list)  # file names of kept inline images, referenced
    files: list[GeneratedFile] = field(default_factory=list)
    people: People = field(default_factory=People)

    @property
    def full_text(self) -> str:
        """The text with references to the inline images kept (in the tracker's Markdown) below it."""
        if not self.inline_images:
            return self.text
        refs = "\n".join(f"![{name}](attachment:{name})" for name in self.inline_images)
        return f"{self.text}\n\n{refs}".strip()

    def uploads(self) -> list[AttachmentUpload]:
        """Everything to attach: the mail's kept attachments, then the generated files."""
        uploads = [
            AttachmentUpload(filename=a.filename, content_type=a.content_type, data=a.payload, sha256=a.sha256)
            for a in self.attachments
        ]
        uploads += [AttachmentUpload(filename=f.filename, content_type=f.content_type, data=f.data) for f in self.files]
        return uploads
