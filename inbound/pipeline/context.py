"""What the steps of the pipeline share: the message, its profile, the tracker, and what was decided so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inbound.mime import Attachment, ParsedMessage
from profiles.config import ProfileConfig, ResolvedMapping
from profiles.routing import MessageFacts
from trackers.interface import Tracker, TrackerIssue, TrackerUser

if TYPE_CHECKING:
    from inbound.pipeline.group import Group


@dataclass(frozen=True)
class Hint:
    """A short, polite note to the sender explaining a rejection (sent unless the mail is automated)."""

    reason: str  # a HintReason value
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Everything one run of the pipeline knows. Steps read it and record their decisions on it."""

    instance_id: int
    message: ParsedMessage
    raw: bytes
    profile: ProfileConfig
    tracker: Tracker
    now: datetime
    inbound_id: int | None = None  # the audit row (None for a dry-run test case)
    dry_run: bool = False
    sender_hash: str = ""
    sender_hashes: tuple[str, ...] = ()  # every hash the sender's earlier rows may carry (jemh.crypto candidates)
    facts: MessageFacts = field(default_factory=MessageFacts)
    group: Group | None = None  # the unit of work this message is processed in, if any

    # decided along the way
    mapping: ResolvedMapping | None = None
    subject: str = ""  # after clean-ups and directives
    body: str = ""  # the whole new text, after clean-ups and directives
    directives: dict[str, str] = field(default_factory=dict)
    issue: TrackerIssue | None = None  # the issue this mail comments on
    association: str = ""  # how the issue was found
    linked_issue_key: str = ""  # a new issue follows up this one (resolved too long ago)
    sender_user: TrackerUser | None = None
    attachments: list[Attachment] = field(default_factory=list)
    extra_attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (name, type, data)
    skipped_attachments: list[dict[str, Any]] = field(default_factory=list)
    comment_body: str = ""
    issue_description: str = ""
    participants: list[str] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)
    hint: Hint | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return f"inbound:{self.inbound_id}" if self.inbound_id is not None else None

    @property
    def sender_email(self) -> str:
        return self.message.from_.email.lower() if self.message.from_ else ""

    @property
    def sender_name(self) -> str:
        return self.message.from_.name if self.message.from_ else ""
