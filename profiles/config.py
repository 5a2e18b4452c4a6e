"""Immutable snapshots of a profile's configuration, for the pipeline: no ORM objects, inheritance applied.

Built by ``profiles.services.load_profile_config``; read by the pure helpers in ``routing``, ``directives``,
``filtering`` and by the pipeline. Every configured choice is a member of its ``profiles.choices`` class: a value
outside it never gets this far (the snapshot is refused, see ``profiles.services``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from profiles.choices import (
    AddresseeHandling,
    AliasKind,
    AssigneeStrategy,
    AssociationStrategy,
    BodyTooLargeAction,
    CommentOnlyNoMatchAction,
    DirectiveProcessor,
    FilterAction,
    FilterRuleKind,
    LimitAction,
    MappingRuleKind,
    NonCatchAction,
    OperatingMode,
    ProcessorTarget,
    ReporterStrategy,
    ResolvedIssueAction,
    SenderAuthentication,
    StrangerAction,
    UnknownSenderAction,
)
from profiles.hints import DEFAULT_HINTS, render_hint
from profiles.patterns import compiled

# What e-mail-only and unauthenticated senders may use unless the profile says otherwise.
DEFAULT_EMAIL_ONLY_DIRECTIVES = ("priority", "labels")


@dataclass(frozen=True)
class CatchAddressConfig:
    address: str
    is_regex: bool


@dataclass(frozen=True)
class HintConfig:
    reason: str
    enabled: bool
    subject: str
    text: str

    def render(self, **context: object) -> tuple[str, str]:
        """(subject, text) with the known placeholders filled in."""
        return render_hint(self.subject, context), render_hint(self.text, context)


@dataclass(frozen=True)
class HintsConfig:
    send_hints: bool
    hints: tuple[HintConfig, ...]
    grace_hours: int = 24  # at most one hint per recipient and reason in this many hours (0: no limit)

    def for_reason(self, reason: str) -> HintConfig | None:
        """The hint to send for a rejection reason, or None when hints (or this one) are switched off."""
        if not self.send_hints:
            return None
        for hint in self.hints:
            if hint.reason == reason:
                return hint if hint.enabled else None
        subject, text = DEFAULT_HINTS.get(reason, ("", ""))
        return HintConfig(reason, True, subject, text) if text else None


@dataclass(frozen=True)
class ContentConfig:
    comment_reply_text_only: bool
    body_to_markdown: bool


@dataclass(frozen=True)
class FilterRuleConfig:
    kind: FilterRuleKind
    header_name: str
    pattern: str
    action: FilterAction
    note: str


@dataclass(frozen=True)
class FiltersConfig:
    own_mail_action: FilterAction
    auto_reply_action: FilterAction
    bounce_action: FilterAction
    bulk_action: FilterAction
    spam_action: FilterAction
    sender_exclusion_action: FilterAction
    flood_limit_per_hour: int | None
    flood_action: FilterAction
    rules: tuple[FilterRuleConfig, ...]


@dataclass(frozen=True)
class MappingRuleConfig:
    kind: MappingRuleKind
    header_name: str
    pattern: str
    priority: int
    rule_id: int | None = None


@dataclass(frozen=True)
class ResolvedMapping:
    """A project mapping with the default mapping's values filled in where it left them unset."""

    id: int | None
    name: str
    is_default: bool
    project_key: str
    issue_type: str
    priority: str
    default_summary: str
    reporter_strategy: ReporterStrategy
    default_reporter: str
    assignee_strategy: AssigneeStrategy
    assignee: str
    operating_mode: OperatingMode
    unknown_sender_action: UnknownSenderAction
    addressee_handling: AddresseeHandling
    subject_cleanups: tuple[str, ...]
    body_cleanups: tuple[str, ...]
    body_delimiters: tuple[str, ...]
    stranger_action: StrangerAction = StrangerAction.HOLD
    sender_becomes_participant: bool = False
    addressees_per_message: int = 10
    participants_per_issue: int = 50
    rules: tuple[MappingRuleConfig, ...] = ()
    inherited: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class DirectiveAliasConfig:
    kind: AliasKind
    alias: str
    directive: str
    value: str


@dataclass(frozen=True)
class FieldProcessorConfig:
    name: str
    target: ProcessorTarget
    pattern: str
    directive: str
    strip_match: bool


@dataclass(frozen=True)
class DirectivesConfig:
    on_create: bool
    on_comment: bool
    processors: tuple[DirectiveProcessor, ...]  # enabled, in tie-break order
    allow_list: tuple[str, ...]
    block_list: tuple[str, ...]
    within_sender_rights: bool
    aliases: tuple[DirectiveAliasConfig, ...] = ()
    field_processors: tuple[FieldProcessorConfig, ...] = ()
    email_only: tuple[str, ...] = DEFAULT_EMAIL_ONLY_DIRECTIVES  # what e-mail-only / unauthenticated senders may use


@dataclass(frozen=True)
class AssociationConfig:
    strategies: tuple[AssociationStrategy, ...]  # enabled, in the order they run
    subject_key_pattern: str
    foreign_key_pattern: str
    foreign_key_field: str
    use_in_reply_to: bool
    use_references: bool

    def subject_issue_keys(self, subject: str) -> tuple[str, ...]:
        """Issue keys found in a subject by the configured pattern, in order."""
        pattern = compiled(self.subject_key_pattern, 0)
        return tuple(match.group(0) for match in pattern.finditer(subject or ""))

    def foreign_key(self, text: str) -> str | None:
        """The foreign key found in text (first group of the foreign key pattern), or None."""
        if not self.foreign_key_pattern:
            return None
        match = compiled(self.foreign_key_pattern, re.IGNORECASE).search(text or "")
        if not match:
            return None
        return match.group(1) if match.re.groups else match.group(0)


@dataclass(frozen=True)
class RejectionConfig:
    resolved_reject_after_days: int | None
    resolved_action: ResolvedIssueAction
    comment_only_no_match_action: CommentOnlyNoMatchAction
    participants_only: bool


@dataclass(frozen=True)
class LoopLimitsConfig:
    max_comments_per_issue: int | None
    comment_limit_action: LimitAction
    max_comments_per_issue_per_hour: int | None
    comment_rate_action: LimitAction
    max_body_chars: int | None
    body_too_large_action: BodyTooLargeAction


@dataclass(frozen=True)
class AttachmentExclusionConfig:
    content_type_pattern: str
    filename_pattern: str
    min_size: int | None
    max_size: int | None
    reason: str


@dataclass(frozen=True)
class AttachmentsConfig:
    drop_duplicates: bool
    keep_inline_images: bool
    exclusions: tuple[AttachmentExclusionConfig, ...]
    known_fingerprints: frozenset[str]

    def exclusion_reason(self, filename: str, content_type: str, size: int, sha256: str) -> str | None:
        """Why an attachment is excluded, or None when it is kept. (Duplicates are the pipeline's business.)"""
        if sha256.lower() in self.known_fingerprints:
            return "known fingerprint"
        for rule in self.exclusions:
            if rule.content_type_pattern and not compiled(rule.content_type_pattern, re.IGNORECASE).fullmatch(
                content_type or ""
            ):
                continue
            if rule.filename_pattern and not compiled(rule.filename_pattern, re.IGNORECASE).search(filename or ""):
                continue
            if rule.min_size is not None and size < rule.min_size:
                continue
            if rule.max_size is not None and size > rule.max_size:
                continue
            return rule.reason or "excluded by an attachment rule"
        return None


@dataclass(frozen=True)
class WorkflowAdvanceConfig:
    from_status: str
    to_status: str


@dataclass(frozen=True)
class ProfileConfig:
    id: int | None
    name: str
    instance_id: int | None
    enabled: bool
    catch_addresses: tuple[CatchAddressConfig, ...]
    non_catch_action: NonCatchAction
    forward_to: tuple[str, ...]
    reply_address: str
    hints: HintsConfig
    content: ContentConfig
    filters: FiltersConfig
    default_mapping: ResolvedMapping
    mappings: tuple[ResolvedMapping, ...]  # the non-default ones
    directives: DirectivesConfig
    association: AssociationConfig
    rejection: RejectionConfig
    limits: LoopLimitsConfig
    attachments: AttachmentsConfig
    workflow: tuple[WorkflowAdvanceConfig, ...]
    sender_authentication: SenderAuthentication = SenderAuthentication.REQUIRE

    def mapping_by_id(self, mapping_id: int) -> ResolvedMapping | None:
        for mapping in (self.default_mapping, *self.mappings):
            if mapping.id == mapping_id:
                return mapping
        return None

    def workflow_target(self, status: str) -> str | None:
        """The status a comment moves an issue in ``status`` to, or None (case-insensitive)."""
        wanted = (status or "").strip().lower()
        for rule in self.workflow:
            if rule.from_status.strip().lower() == wanted:
                return rule.to_status
        return None
