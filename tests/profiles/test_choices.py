"""Configured choices in the snapshot: members of their TextChoices, and an unknown stored value fails closed.

An unknown value reaches the database only around the admin and the import (both validate choices): a row
changed by hand, or a choice removed since. The snapshot then refuses the profile with a reason naming the field
and the value, so its mail ends as ``error`` for a human, never handled by a guess (before, an unknown filter
action let the message through and an unknown filter rule kind silently never matched).
"""

from __future__ import annotations

import pytest

from profiles.choices import (
    AliasKind,
    AssociationStrategy,
    DirectiveProcessor,
    FilterAction,
    FilterRuleKind,
    LimitAction,
    MappingRuleKind,
    NonCatchAction,
    OperatingMode,
    ProcessorTarget,
    UnknownSenderAction,
)
from profiles.models import DirectiveAlias, FieldProcessor, FilterRule, MappingRule, Profile, ProjectMapping
from profiles.services import ProfileConfigError, load_profile_config


def test_the_snapshot_holds_members_of_the_choices(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    assert type(config.non_catch_action) is NonCatchAction
    assert type(config.filters.own_mail_action) is FilterAction and config.filters.own_mail_action is FilterAction.DROP
    assert all(type(r.kind) is FilterRuleKind and type(r.action) is FilterAction for r in config.filters.rules)
    assert type(config.limits.comment_limit_action) is LimitAction
    assert type(config.default_mapping.operating_mode) is OperatingMode
    assert type(config.default_mapping.unknown_sender_action) is UnknownSenderAction
    assert all(type(r.kind) is MappingRuleKind for m in config.mappings for r in m.rules)
    assert all(type(a.kind) is AliasKind for a in config.directives.aliases)
    assert all(type(p.target) is ProcessorTarget for p in config.directives.field_processors)
    assert all(type(p) is DirectiveProcessor for p in config.directives.processors)
    assert all(type(s) is AssociationStrategy for s in config.association.strategies)


@pytest.mark.parametrize(
    "field",
    ["own_mail_action", "auto_reply_action", "bounce_action", "bulk_action", "spam_action", "flood_action"],
)
def test_an_unknown_filter_action_of_the_profile_refuses_the_snapshot(rich_profile, field: str) -> None:
    Profile.objects.filter(pk=rich_profile.pk).update(**{field: "allwo"})
    with pytest.raises(ProfileConfigError, match=rf"{field} has the unknown value 'allwo' \(expected one of drop,"):
        load_profile_config(rich_profile.pk)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("non_catch_action", "allow"),  # a FilterAction, but not a NonCatchAction
        ("comment_limit_action", "drop"),
        ("body_too_large_action", "ignore"),
        ("resolved_action", "reopen"),
        ("comment_only_no_match_action", "create"),
    ],
)
def test_an_unknown_profile_choice_refuses_the_snapshot(rich_profile, field: str, value: str) -> None:
    Profile.objects.filter(pk=rich_profile.pk).update(**{field: value})
    with pytest.raises(ProfileConfigError, match=rf"Profile 'Support': {field} has the unknown value '{value}'"):
        load_profile_config(rich_profile.pk)


def test_an_unknown_filter_rule_action_or_kind_refuses_the_snapshot(rich_profile) -> None:
    rule = FilterRule.objects.filter(profile=rich_profile, kind="header").get()
    FilterRule.objects.filter(pk=rule.pk).update(action="quarantine")
    with pytest.raises(ProfileConfigError, match=rf"filter rule {rule.pk}: action has the unknown value 'quarantine'"):
        load_profile_config(rich_profile.pk)
    FilterRule.objects.filter(pk=rule.pk).update(action="drop", kind="body")
    with pytest.raises(ProfileConfigError, match=rf"filter rule {rule.pk}: kind has the unknown value 'body'"):
        load_profile_config(rich_profile.pk)


def test_an_unknown_mapping_choice_refuses_the_snapshot(rich_profile) -> None:
    sales = ProjectMapping.objects.get(profile=rich_profile, name="Sales")
    ProjectMapping.objects.filter(pk=sales.pk).update(unknown_sender_action="welcome")
    with pytest.raises(
        ProfileConfigError, match="Project mapping 'Sales': unknown_sender_action has the unknown value 'welcome'"
    ):
        load_profile_config(rich_profile.pk)


def test_an_unknown_mapping_rule_kind_refuses_the_snapshot(rich_profile) -> None:
    rule = MappingRule.objects.filter(mapping__profile=rich_profile).first()
    MappingRule.objects.filter(pk=rule.pk).update(kind="cc")
    with pytest.raises(ProfileConfigError, match=rf"rule {rule.pk}: kind has the unknown value 'cc'"):
        load_profile_config(rich_profile.pk)


def test_an_unknown_alias_kind_or_processor_target_refuses_the_snapshot(rich_profile) -> None:
    DirectiveAlias.objects.filter(profile=rich_profile).update(kind="regex")
    with pytest.raises(ProfileConfigError, match=r"alias '\w+': kind has the unknown value 'regex'"):
        load_profile_config(rich_profile.pk)
    DirectiveAlias.objects.filter(profile=rich_profile).update(kind="key")
    FieldProcessor.objects.filter(profile=rich_profile).update(target="headers")
    with pytest.raises(ProfileConfigError, match="target has the unknown value 'headers'"):
        load_profile_config(rich_profile.pk)


def test_an_unknown_name_in_the_association_order_only_drops_out_of_the_order(rich_profile) -> None:
    Profile.objects.filter(pk=rich_profile.pk).update(association_order="thread_headers,guess,directive")
    strategies = load_profile_config(rich_profile.pk).association.strategies
    assert strategies[:2] == (AssociationStrategy.THREAD_HEADERS, AssociationStrategy.DIRECTIVE)
    assert set(strategies) == set(AssociationStrategy)
