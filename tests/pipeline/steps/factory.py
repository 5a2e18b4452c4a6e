"""In-memory building blocks for step tests: a profile snapshot with the model's defaults, a parsed message,
look-ups without a database, and a context around them on an in-memory tracker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from inbound.mime import parse
from inbound.pipeline.context import Context, Mail
from profiles.choices import (
    AddresseeHandling,
    AssigneeStrategy,
    AssociationStrategy,
    BodyTooLargeAction,
    CommentOnlyNoMatchAction,
    DirectiveProcessor,
    FilterAction,
    LimitAction,
    NonCatchAction,
    OperatingMode,
    ReporterStrategy,
    ResolvedIssueAction,
    UnknownSenderAction,
)
from profiles.config import (
    AssociationConfig,
    AttachmentsConfig,
    CatchAddressConfig,
    ContentConfig,
    DirectivesConfig,
    FiltersConfig,
    HintsConfig,
    LoopLimitsConfig,
    ProfileConfig,
    RejectionConfig,
    ResolvedMapping,
)
from profiles.models import Profile
from profiles.routing import MessageFacts
from profiles.services import OwnAddresses
from tests.trackers.memory import MemoryTracker

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def mapping(**changes: Any) -> ResolvedMapping:
    """A complete default mapping for project ABC."""
    values: dict[str, Any] = dict(
        id=1,
        name="default",
        is_default=True,
        project_key="ABC",
        issue_type="Task",
        priority="",
        default_summary="(no subject)",
        reporter_strategy=ReporterStrategy.SENDER,
        default_reporter="",
        assignee_strategy=AssigneeStrategy.UNASSIGNED,
        assignee="",
        operating_mode=OperatingMode.CREATE_AND_COMMENT,
        unknown_sender_action=UnknownSenderAction.EMAIL_ONLY,
        addressee_handling=AddresseeHandling.IGNORE,
        subject_cleanups=(),
        body_cleanups=(),
        body_delimiters=(),
    )
    values.update(changes)
    return ResolvedMapping(**values)


def profile(**sections: Any) -> ProfileConfig:
    """A profile snapshot with the Profile model's defaults (an unsaved row: no database). Keyword arguments
    replace a section (``filters=dict(flood_limit_per_hour=3)`` changes fields of it) or a top-level field."""
    p = Profile(name="test profile")
    config = ProfileConfig(
        id=1,
        name=p.name,
        instance_id=1,
        enabled=True,
        catch_addresses=(),
        non_catch_action=NonCatchAction(p.non_catch_action),
        forward_to=(),
        reply_address="",
        hints=HintsConfig(send_hints=p.send_hints, hints=()),
        content=ContentConfig(p.comment_reply_text_only, p.body_to_markdown),
        filters=FiltersConfig(
            own_mail_action=FilterAction(p.own_mail_action),
            auto_reply_action=FilterAction(p.auto_reply_action),
            bounce_action=FilterAction(p.bounce_action),
            bulk_action=FilterAction(p.bulk_action),
            spam_action=FilterAction(p.spam_action),
            sender_exclusion_action=FilterAction(p.sender_exclusion_action),
            flood_limit_per_hour=p.flood_limit_per_hour,
            flood_action=FilterAction(p.flood_action),
            rules=(),
        ),
        default_mapping=mapping(),
        mappings=(),
        directives=DirectivesConfig(
            on_create=p.directives_on_create,
            on_comment=p.directives_on_comment,
            processors=tuple(name for name in DirectiveProcessor if getattr(p, f"processor_{name.value}")),
            allow_list=(),
            block_list=(),
            within_sender_rights=p.directives_within_sender_rights,
        ),
        association=AssociationConfig(
            strategies=tuple(AssociationStrategy),
            subject_key_pattern=p.subject_key_pattern,
            foreign_key_pattern="",
            foreign_key_field="",
            use_in_reply_to=p.use_in_reply_to,
            use_references=p.use_references,
        ),
        rejection=RejectionConfig(
            resolved_reject_after_days=p.resolved_reject_after_days,
            resolved_action=ResolvedIssueAction(p.resolved_action),
            comment_only_no_match_action=CommentOnlyNoMatchAction(p.comment_only_no_match_action),
            participants_only=p.participants_only,
        ),
        limits=LoopLimitsConfig(
            max_comments_per_issue=p.max_comments_per_issue,
            comment_limit_action=LimitAction(p.comment_limit_action),
            max_comments_per_issue_per_hour=p.max_comments_per_issue_per_hour,
            comment_rate_action=LimitAction(p.comment_rate_action),
            max_body_chars=p.max_body_chars,
            body_too_large_action=BodyTooLargeAction(p.body_too_large_action),
        ),
        attachments=AttachmentsConfig(
            drop_duplicates=p.drop_duplicate_attachments,
            keep_inline_images=p.keep_inline_images,
            exclusions=(),
            known_fingerprints=frozenset(),
        ),
        workflow=(),
    )
    changes: dict[str, Any] = {}
    for name, value in sections.items():
        current = getattr(config, name)
        changes[name] = replace(current, **value) if isinstance(value, dict) else value
    return replace(config, **changes)


def catch(*addresses: str) -> tuple[CatchAddressConfig, ...]:
    return tuple(CatchAddressConfig(a, False) for a in addresses)


def raw_mail(
    *,
    subject: str = "Printer on fire",
    body: str = "Hello,\nthe printer is on fire.\n",
    sender: str = "Alice Example <alice@example.org>",
    to: str = "support@example.com",
    cc: str = "",
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = "<m1@example.org>"
    message["Date"] = "Sun, 01 Mar 2026 11:00:00 +0000"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


TRUSTED_MTA = "mx.support.example.com"  # the authserv-id of "our" MTA in step tests


def authenticated(domain: str = "example.org", authserv_id: str = TRUSTED_MTA) -> dict[str, str]:
    """An Authentication-Results header saying the mail passed DMARC, DKIM and SPF for ``domain``."""
    return {
        "Authentication-Results": f"{authserv_id}; dkim=pass header.d={domain}; "
        f"spf=pass smtp.mailfrom=bounces@{domain}; dmarc=pass (p=reject) header.from={domain}"
    }


@dataclass
class MemoryLookups:
    """Look-ups answered from fixed values (no database)."""

    earlier: int = 0
    own: OwnAddresses = field(default_factory=lambda: OwnAddresses(frozenset({"support@example.com"}), ()))
    asked: list[str] = field(default_factory=list)

    def earlier_from_sender(self, mail: Mail, now: datetime) -> int:
        self.asked.append("earlier_from_sender")
        return self.earlier

    def own_addresses(self) -> OwnAddresses:
        return self.own


def memory(ctx: Context) -> MemoryTracker:
    """The context's in-memory tracker (to add projects, users and permissions to)."""
    assert isinstance(ctx.tracker, MemoryTracker)
    return ctx.tracker


def context(
    raw: bytes | None = None,
    *,
    config: ProfileConfig | None = None,
    tracker: MemoryTracker | None = None,
    lookups: MemoryLookups | None = None,
    inbound_id: int | None = 7,
    sender_hash: str = "sender-hash",
    dry_run: bool = False,
    trusted: Sequence[str] = (),
    **mail: Any,
) -> Context:
    """A context for one message on an in-memory tracker (project ABC) and fixed look-ups."""
    raw = raw if raw is not None else raw_mail(**mail)
    parsed = parse(raw)
    if tracker is None:
        tracker = MemoryTracker(now=NOW)
        tracker.add_project("ABC")
    return Context(
        mail=Mail(
            instance_id=1,
            message=parsed,
            raw=raw,
            facts=MessageFacts.from_parsed(parsed),
            inbound_id=inbound_id,
            sender_hash=sender_hash,
            trusted_authserv_ids=tuple(trusted),
        ),
        profile=config or profile(),
        tracker=tracker,
        lookups=lookups or MemoryLookups(),
        now=NOW,
        dry_run=dry_run,
    )
