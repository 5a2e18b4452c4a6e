"""What the steps of the pipeline share: the mail, its profile, the tracker, what was decided so far, and the
draft being built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from inbound.mime import ParsedMessage
from inbound.pipeline.draft import Draft
from inbound.pipeline.sender import Sender
from profiles.config import ProfileConfig, ResolvedMapping
from profiles.routing import MessageFacts
from trackers.interface import Tracker, TrackerIssue

if TYPE_CHECKING:
    from profiles.services import OwnAddresses


@dataclass(frozen=True)
class Mail:
    """The message being processed, as it arrived (never changed by a step)."""

    instance_id: int
    message: ParsedMessage
    raw: bytes
    facts: MessageFacts = field(default_factory=MessageFacts)  # sender, every recipient, subject, headers
    inbound_id: int | None = None  # the audit row (None for a dry-run test case)
    sender_hash: str = ""  # the keyed hash of the sender's address (flood counts)
    sender_hashes: tuple[str, ...] = ()  # every hash the sender's earlier rows may carry (jemh.crypto candidates)
    trusted_authserv_ids: tuple[str, ...] = ()  # the source's own MTA: whose Authentication-Results are believed

    @property
    def idempotency_key(self) -> str | None:
        return f"inbound:{self.inbound_id}" if self.inbound_id is not None else None

    @property
    def sender_email(self) -> str:
        return self.message.from_.email.lower() if self.message.from_ else ""

    @property
    def sender_name(self) -> str:
        return self.message.from_.name if self.message.from_ else ""


class Lookups(Protocol):
    """What steps ask of the instance beyond the tracker (the database, in production)."""

    def earlier_from_sender(self, mail: Mail, now: datetime) -> int:
        """How many messages from the mail's sender arrived in the flood window before this one."""
        ...

    def own_addresses(self) -> OwnAddresses:
        """The instance's own catch and reply addresses."""
        ...


@dataclass(frozen=True)
class Hint:
    """A short, polite note to the sender explaining a rejection (sent unless the mail is automated)."""

    reason: str  # a HintReason value
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decisions:
    """What the steps decided so far about where the mail goes."""

    mapping: ResolvedMapping | None = None  # the project mapping (routing)
    issue: TrackerIssue | None = None  # the issue this mail comments on (association); None: a new issue
    association: str = ""  # how the issue was found
    linked_issue_key: str = ""  # a new issue follows up this one (resolved too long ago, or a stranger wrote to it)
    linked_because: str = "resolved too long ago to comment on"  # why, in the new issue's first line
    missing_issue_key: str = ""  # the mail refers to this issue, which the tracker does not have (any more)
    body_limit: int | None = None  # the text is cut to this many characters, the full text attached (loop limits)
    hint: Hint | None = None  # what to tell a rejected sender
    sender: Sender | None = None  # who the sender is (inbound.pipeline.sender.identify, on first use)
    foreign_key: str = ""  # the foreign key a new issue stores (directive rights: only an authenticated writer's)


@dataclass
class Context:
    """Everything one run of the pipeline knows. Rules read it and record decisions; handlers build the draft."""

    mail: Mail
    profile: ProfileConfig
    tracker: Tracker
    lookups: Lookups
    now: datetime
    dry_run: bool = False
    decisions: Decisions = field(default_factory=Decisions)
    draft: Draft = field(default_factory=Draft)

    @property
    def message(self) -> ParsedMessage:
        return self.mail.message

    @property
    def mapping(self) -> ResolvedMapping:
        """The routed mapping (steps after routing only)."""
        if self.decisions.mapping is None:
            raise LookupError("no mapping was chosen yet: the routing step runs first")
        return self.decisions.mapping
