"""Services of profiles: the profile mail is processed with, a profile as an immutable configuration snapshot for the
pipeline, the instance's own addresses, and test cases made from stored mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import models
from django.db.models import Count, Max

from jemh.process_cache import ProcessCache
from profiles import inheritance
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
from profiles.config import (
    AssociationConfig,
    AttachmentExclusionConfig,
    AttachmentsConfig,
    CatchAddressConfig,
    ContentConfig,
    DirectiveAliasConfig,
    DirectivesConfig,
    FieldProcessorConfig,
    FilterRuleConfig,
    FiltersConfig,
    HintConfig,
    HintsConfig,
    LoopLimitsConfig,
    MappingRuleConfig,
    ProfileConfig,
    RejectionConfig,
    ResolvedMapping,
    WorkflowAdvanceConfig,
)
from profiles.directives import is_sensitive_directive as is_sensitive
from profiles.hints import DEFAULT_HINTS
from profiles.models import CatchAddress, Profile, ProjectMapping, TestCase
from profiles.portability import export_profile_json
from profiles.routing import split_subaddress
from profiles.validators import split_lines


class ProfileConfigError(Exception):
    """The profile cannot be used as configured; the message says what to fix."""


class NoProfile(ProfileConfigError):
    """Mail has no profile to be processed with: its source names none and the instance has no or several enabled
    profiles (``enabled`` says how many)."""

    def __init__(self, message: str, enabled: int) -> None:
        super().__init__(message)
        self.enabled = enabled


def processing_profile_id(instance_id: int, source_profile_id: int | None, *, source_name: str = "(no source)") -> int:
    """The profile mail from a source is processed with: the source's profile (``source_profile_id``), else the
    instance's only enabled profile. Raises NoProfile, saying what to do, when neither applies."""
    if source_profile_id is not None:
        return source_profile_id
    enabled = list(Profile.objects.filter(instance_id=instance_id, enabled=True).values_list("pk", flat=True))
    if len(enabled) != 1:
        raise NoProfile(
            f"no profile is set for source {source_name!r} and the instance has {len(enabled)} enabled "
            "profiles: choose the source's profile in the admin",
            enabled=len(enabled),
        )
    return enabled[0]


def create_test_case(profile_id: int, name: str, raw: bytes, inbound_id: int | None = None) -> TestCase:
    """A new test case of the profile holding the raw message ``raw`` (its name cut to the field's length), made
    from the inbound message ``inbound_id`` when it was."""
    case = TestCase(
        profile_id=profile_id, name=name[: TestCase._meta.get_field("name").max_length], inbound_id=inbound_id
    )
    case.raw_bytes = raw
    case.save()
    return case


def cases_made_from_inbound(inbound_id: int) -> list[tuple[int, str]]:
    """The test cases made from the inbound message ``inbound_id``, as (id, name), oldest first."""
    return list(TestCase.objects.filter(inbound_id=inbound_id).order_by("created_at", "pk").values_list("pk", "name"))


def profile_export(instance_id: int, *, profile_id: int | None = None, name: str = "") -> tuple[str, str] | None:
    """The JSON export (configuration only, no secret: see ``portability``) of a profile of the instance, found by
    id, else by name; returns (its name, the JSON), or None when no such profile exists (any more)."""
    profiles = Profile.objects.filter(instance_id=instance_id)
    profile = profiles.filter(pk=profile_id).first() if profile_id is not None else None
    if profile is None and name:
        profile = profiles.filter(name=name).first()
    return (profile.name, export_profile_json(profile)) if profile is not None else None


C = TypeVar("C", bound=models.TextChoices)


def choice(choices: type[C], value: str, where: str) -> C:
    """``value`` as a member of ``choices``. A value outside them (a row changed outside the admin, a choice
    removed since) fails closed: the snapshot is refused with a reason naming the value, so every message of the
    profile ends as ``error`` for a human instead of being handled by a guess."""
    try:
        return choices(value)
    except ValueError:
        expected = ", ".join(choices.values)
        raise ProfileConfigError(
            f"{where} has the unknown value {value!r} (expected one of {expected}); fix it in the admin."
        ) from None


_PREFETCH = (
    "catch_addresses",
    "hints",
    "filter_rules",
    "mappings__rules",
    "aliases",
    "field_processors",
    "attachment_exclusions",
    "known_fingerprints",
    "workflow_rules",
)


def load_profile_config(profile_id: int) -> ProfileConfig:
    """The profile's configuration as an immutable snapshot (mappings with inheritance applied)."""
    try:
        profile = Profile.objects.prefetch_related(*_PREFETCH).get(pk=profile_id)
    except Profile.DoesNotExist:
        raise ProfileConfigError(f"Profile {profile_id} does not exist (deleted?); choose another profile.") from None
    return profile_config(profile)


# -- a per-process cache for the processing hot path ----------------------------------------------------------
# Loading a snapshot takes eleven queries; a worker processing a burst of mail would load the same profile for
# every message. ``current_profile_config`` reuses a snapshot while it is provably current: the profile row's
# ``updated_at`` is unchanged (the admin saves the profile whenever its page or an inline is saved, and every
# import saves it), no model of this app was saved or deleted in this process since, and it is younger than
# CACHE_SECONDS (which bounds the one blind spot: child rows changed in bulk by another process without saving
# the profile). ``load_profile_config`` itself never caches.

CACHE_SECONDS = 30.0
_config_cache: ProcessCache[int, ProfileConfig] = ProcessCache(CACHE_SECONDS)
_own_cache: ProcessCache[int, OwnAddresses] = ProcessCache(CACHE_SECONDS)


def forget_cached_profiles(**kwargs: Any) -> None:
    """Drop every cached snapshot and own-address set (connected to saves and deletes of this app's models)."""
    sender = kwargs.get("sender")
    if sender is not None and getattr(getattr(sender, "_meta", None), "app_label", "profiles") != "profiles":
        return
    _config_cache.clear()
    _own_cache.clear()


def current_profile_config(profile_id: int, updated_at: datetime | None = None) -> ProfileConfig:
    """``load_profile_config(profile_id)``, reused from this process's cache while provably current (one small
    query to check instead of eleven; none when the caller just read the profile's ``updated_at``). Raises
    ProfileConfigError like ``load_profile_config``."""
    version = updated_at or Profile.objects.filter(pk=profile_id).values_list("updated_at", flat=True).first()
    if version is None:
        return load_profile_config(profile_id)  # raises the "does not exist" error
    return _config_cache.get(profile_id, load_profile_config, version)


def profile_config(profile: Profile) -> ProfileConfig:
    """Snapshot of a (saved) profile."""
    mappings = list(profile.mappings.all())
    defaults = [mapping for mapping in mappings if mapping.is_default]
    if not defaults:
        raise ProfileConfigError(f"Profile {profile.name!r} has no default project mapping; add one in the admin.")
    default = defaults[0]
    default_values = default.own_values()
    resolved_default = _resolve(default, default_values)
    problems = inheritance.missing_requirements(_values_of(resolved_default))
    if problems:
        detail = "; ".join(f"{name}: {message}" for name, message in sorted(problems.items()))
        raise ProfileConfigError(f"The default mapping of profile {profile.name!r} is incomplete ({detail}).")
    where = f"Profile {profile.name!r}"

    def action(name: str) -> FilterAction:
        return choice(FilterAction, getattr(profile, name), f"{where}: {name}")

    return ProfileConfig(
        id=profile.pk,
        name=profile.name,
        instance_id=profile.instance_id,
        enabled=profile.enabled,
        catch_addresses=tuple(CatchAddressConfig(c.address.strip(), c.is_regex) for c in profile.catch_addresses.all()),
        non_catch_action=choice(NonCatchAction, profile.non_catch_action, f"{where}: non_catch_action"),
        forward_to=tuple(split_lines(profile.forward_to)),
        reply_address=profile.reply_address.strip(),
        hints=HintsConfig(
            send_hints=profile.send_hints,
            hints=tuple(_hint(h.reason, h.enabled, h.subject, h.text) for h in profile.hints.all()),
            grace_hours=profile.hint_grace_hours,
        ),
        content=ContentConfig(profile.comment_reply_text_only, profile.body_to_markdown),
        filters=FiltersConfig(
            own_mail_action=action("own_mail_action"),
            auto_reply_action=action("auto_reply_action"),
            bounce_action=action("bounce_action"),
            bulk_action=action("bulk_action"),
            spam_action=action("spam_action"),
            sender_exclusion_action=action("sender_exclusion_action"),
            flood_limit_per_hour=profile.flood_limit_per_hour,
            flood_action=action("flood_action"),
            rules=tuple(
                FilterRuleConfig(
                    choice(FilterRuleKind, r.kind, f"{where}: filter rule {r.pk}: kind"),
                    r.header_name.strip(),
                    r.pattern,
                    choice(FilterAction, r.action, f"{where}: filter rule {r.pk}: action"),
                    r.note,
                )
                for r in profile.filter_rules.all()
            ),
        ),
        default_mapping=resolved_default,
        mappings=tuple(_resolve(m, default_values) for m in mappings if not m.is_default),
        directives=DirectivesConfig(
            on_create=profile.directives_on_create,
            on_comment=profile.directives_on_comment,
            processors=tuple(name for name in DirectiveProcessor if getattr(profile, f"processor_{name.value}")),
            allow_list=tuple(split_lines(profile.directive_allow_list)),
            block_list=tuple(split_lines(profile.directive_block_list)),
            within_sender_rights=profile.directives_within_sender_rights,
            email_only=tuple(name for name in split_lines(profile.email_only_directives) if not is_sensitive(name)),
            aliases=tuple(
                DirectiveAliasConfig(
                    choice(AliasKind, a.kind, f"{where}: alias {a.alias!r}: kind"),
                    a.alias.strip(),
                    a.directive.strip(),
                    a.value.strip(),
                )
                for a in profile.aliases.all()
            ),
            field_processors=tuple(
                FieldProcessorConfig(
                    p.name,
                    choice(ProcessorTarget, p.target, f"{where}: field processor {p.name!r}: target"),
                    p.pattern,
                    p.directive.strip(),
                    p.strip_match,
                )
                for p in profile.field_processors.all()
            ),
        ),
        association=AssociationConfig(
            strategies=tuple(
                name
                for name in _association_order(profile.association_order)
                if getattr(profile, f"associate_by_{name.value}")
            ),
            subject_key_pattern=profile.subject_key_pattern,
            foreign_key_pattern=profile.foreign_key_pattern,
            foreign_key_field=profile.foreign_key_field.strip(),
            use_in_reply_to=profile.use_in_reply_to,
            use_references=profile.use_references,
        ),
        rejection=RejectionConfig(
            resolved_reject_after_days=profile.resolved_reject_after_days,
            resolved_action=choice(ResolvedIssueAction, profile.resolved_action, f"{where}: resolved_action"),
            comment_only_no_match_action=choice(
                CommentOnlyNoMatchAction, profile.comment_only_no_match_action, f"{where}: comment_only_no_match_action"
            ),
            participants_only=profile.participants_only,
        ),
        limits=LoopLimitsConfig(
            max_comments_per_issue=profile.max_comments_per_issue,
            comment_limit_action=choice(LimitAction, profile.comment_limit_action, f"{where}: comment_limit_action"),
            max_comments_per_issue_per_hour=profile.max_comments_per_issue_per_hour,
            comment_rate_action=choice(LimitAction, profile.comment_rate_action, f"{where}: comment_rate_action"),
            max_body_chars=profile.max_body_chars,
            body_too_large_action=choice(
                BodyTooLargeAction, profile.body_too_large_action, f"{where}: body_too_large_action"
            ),
        ),
        attachments=AttachmentsConfig(
            drop_duplicates=profile.drop_duplicate_attachments,
            keep_inline_images=profile.keep_inline_images,
            exclusions=tuple(
                AttachmentExclusionConfig(e.content_type_pattern, e.filename_pattern, e.min_size, e.max_size, e.reason)
                for e in profile.attachment_exclusions.all()
            ),
            known_fingerprints=frozenset(f.sha256.strip().lower() for f in profile.known_fingerprints.all()),
        ),
        workflow=tuple(WorkflowAdvanceConfig(w.from_status, w.to_status) for w in profile.workflow_rules.all()),
        sender_authentication=choice(
            SenderAuthentication, profile.sender_authentication, f"{where}: sender_authentication"
        ),
    )


def _hint(reason: str, enabled: bool, subject: str, text: str) -> HintConfig:
    default_subject, default_text = DEFAULT_HINTS.get(reason, ("", ""))
    return HintConfig(reason, enabled, subject.strip() or default_subject, text.strip() or default_text)


def _association_order(order: str) -> list[AssociationStrategy]:
    """The configured order, then any strategy it leaves out, in the standard order (an unknown name in the
    order is left out: it only orders, and every strategy still runs in its place)."""
    named = [
        AssociationStrategy(name.strip()) for name in order.split(",") if name.strip() in AssociationStrategy.values
    ]
    return named + [name for name in AssociationStrategy if name not in named]


# The mapping's configured choices, checked as the profile's are.
_MAPPING_CHOICES: dict[str, type[models.TextChoices]] = {
    "reporter_strategy": ReporterStrategy,
    "assignee_strategy": AssigneeStrategy,
    "operating_mode": OperatingMode,
    "unknown_sender_action": UnknownSenderAction,
    "addressee_handling": AddresseeHandling,
    "stranger_action": StrangerAction,
}


def _resolve(mapping: ProjectMapping, default_values: dict[str, object]) -> ResolvedMapping:
    values, inherited = inheritance.resolve(mapping.own_values(), default_values)
    where = f"Project mapping {mapping.name!r}"
    for name, choices in _MAPPING_CHOICES.items():
        values[name] = choice(choices, values[name], f"{where}: {name}")
    rules = tuple(
        MappingRuleConfig(
            choice(MappingRuleKind, r.kind, f"{where}: rule {r.pk}: kind"),
            r.header_name.strip(),
            r.pattern,
            r.priority,
            r.pk,
        )
        for r in sorted(mapping.rules.all(), key=lambda rule: (rule.priority, rule.pk))
    )
    return ResolvedMapping(
        id=mapping.pk,
        name=mapping.name,
        is_default=mapping.is_default,
        rules=rules,
        inherited=frozenset() if mapping.is_default else inherited,
        **values,
    )


def _values_of(mapping: ResolvedMapping) -> dict[str, object]:
    return {name: getattr(mapping, name) for name in inheritance.INHERITABLE_FIELDS}


@dataclass(frozen=True)
class OwnAddresses:
    """The addresses mail of an instance is caught on: never notify them, never add them as participants."""

    literals: frozenset[str]  # lower case, without sub-address tags
    patterns: tuple[str, ...]  # regexes, to be matched case-insensitively against a whole address
    reply_address: str = ""  # the first enabled profile's reply address (else any profile's), as written


def instance_own_addresses(instance_id: int) -> OwnAddresses:
    """Every catch address and reply address of the instance's profiles (enabled or not)."""
    return _load_own_addresses(instance_id)


def current_own_addresses(instance_id: int) -> OwnAddresses:
    """``instance_own_addresses``, reused from this process's cache while the instance's profiles are unchanged
    (their number and latest ``updated_at``; one query instead of two), as ``current_profile_config``."""
    version = tuple(
        Profile.objects.filter(instance_id=instance_id).aggregate(n=Count("pk"), last=Max("updated_at")).values()
    )
    return _own_cache.get(instance_id, _load_own_addresses, version)


def _load_own_addresses(instance_id: int) -> OwnAddresses:
    profiles = sorted(
        Profile.objects.filter(instance_id=instance_id).values_list("reply_address", "enabled", "id"),
        key=lambda row: (not row[1], row[2]),
    )  # enabled first, then oldest
    replies = [reply.strip() for reply, _, _ in profiles if reply and reply.strip()]
    literals = {split_subaddress(reply)[0] for reply in replies}
    patterns = []
    for address, is_regex in CatchAddress.objects.filter(profile__instance_id=instance_id).values_list(
        "address", "is_regex"
    ):
        if is_regex:
            patterns.append(address)
        elif address.strip():
            literals.add(split_subaddress(address)[0])
    return OwnAddresses(frozenset(literals), tuple(patterns), replies[0] if replies else "")


@dataclass(frozen=True)
class TrackerNeeds:
    """What an instance's enabled profiles ask of its tracker: the projects their mappings name (a mapping that
    leaves the key empty inherits its profile's default mapping's) and the custom fields holding foreign keys, each
    with where it is named ("profile P, mapping M")."""

    projects: dict[str, list[str]]
    foreign_key_fields: dict[str, list[str]]


def tracker_needs(instance_id: int) -> TrackerNeeds:
    projects: dict[str, list[str]] = {}
    fields: dict[str, list[str]] = {}
    profiles = Profile.objects.filter(instance_id=instance_id, enabled=True).prefetch_related("mappings")
    for profile in profiles.order_by("name"):
        mappings = list(profile.mappings.all())
        default_key = next((m.project_key for m in mappings if m.is_default), "")
        for mapping in mappings:
            key = (mapping.project_key or default_key).strip().upper()
            if key:
                projects.setdefault(key, []).append(f"profile {profile.name!r}, mapping {mapping.name!r}")
        if profile.foreign_key_field.strip():
            fields.setdefault(profile.foreign_key_field.strip(), []).append(f"profile {profile.name!r}")
    return TrackerNeeds(projects, fields)
