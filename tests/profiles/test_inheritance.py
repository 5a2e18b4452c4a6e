"""Project mapping inheritance: unset values come from the default mapping, set values are the mapping's own."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ValidationError

from profiles import inheritance
from profiles.models import ProjectMapping
from profiles.services import ProfileConfigError, load_profile_config
from tests.profiles.conftest import DEFAULT_MAPPING, make_profile


def test_unset_values_are_inherited_and_set_values_are_own() -> None:
    own = {
        "project_key": "SAL",
        "issue_type": "",
        "priority": None,
        "subject_cleanups": None,
        "body_cleanups": "x+",
        "body_delimiters": "(none)",
    }
    values, inherited = inheritance.resolve(own, DEFAULT_MAPPING)
    assert values["project_key"] == "SAL"
    assert values["issue_type"] == "Task" and values["priority"] == "Medium"
    assert values["subject_cleanups"] == (r"^\[EXTERNAL\]\s*",)
    assert values["body_cleanups"] == ("x+",)
    assert values["body_delimiters"] == ()  # "(none)": explicitly empty, not inherited
    assert "project_key" not in inherited and "body_cleanups" not in inherited
    assert {"issue_type", "priority", "subject_cleanups"} <= inherited


def test_loaded_config_applies_inheritance(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    sales = next(m for m in config.mappings if m.name == "Sales")
    vip = next(m for m in config.mappings if m.name == "VIP")
    assert (sales.project_key, sales.operating_mode) == ("SAL", "create_only")  # own
    assert (sales.issue_type, sales.priority, sales.default_reporter) == ("Task", "Medium", "helpdesk")  # inherited
    assert sales.body_delimiters == ("^-- $", "^Sent from my")
    assert (vip.project_key, vip.priority, vip.body_delimiters) == ("SUP", "Highest", ())
    assert "project_key" in vip.inherited and "priority" not in vip.inherited
    assert config.default_mapping.inherited == frozenset()
    assert config.default_mapping.subject_cleanups == (r"^\[EXTERNAL\]\s*",)


def test_config_is_immutable(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.default_mapping.project_key = "X"  # type: ignore[misc]  # the test: frozen


def test_a_change_of_the_default_reaches_mappings_that_inherit(rich_profile) -> None:
    rich_profile.mappings.filter(is_default=True).update(issue_type="Incident")
    config = load_profile_config(rich_profile.pk)
    assert {m.name: m.issue_type for m in config.mappings} == {"Sales": "Incident", "VIP": "Incident"}


def test_default_mapping_must_set_everything_required(instance) -> None:
    profile = make_profile(instance)
    profile.mappings.all().delete()
    mapping = ProjectMapping(profile=profile, name="Default", is_default=True, project_key="SUP")
    with pytest.raises(ValidationError) as caught:
        mapping.full_clean()
    assert {"issue_type", "operating_mode", "reporter_strategy"} <= set(caught.value.message_dict)


def test_strategy_specific_requirements(instance) -> None:
    profile = make_profile(instance)
    fixed = ProjectMapping(profile=profile, name="Fixed", assignee_strategy="fixed_user")
    with pytest.raises(ValidationError) as caught:
        fixed.full_clean()
    assert "assignee" in caught.value.message_dict
    assert "nor does the default mapping" in caught.value.message_dict["assignee"][0]
    fixed.assignee = "bob"
    fixed.full_clean()


def test_only_one_default_mapping(instance) -> None:
    profile = make_profile(instance)
    second = ProjectMapping(profile=profile, **{**DEFAULT_MAPPING, "name": "Other default"})
    with pytest.raises(ValidationError, match="already has a default mapping"):
        second.full_clean()


def test_default_mapping_takes_no_rules(instance) -> None:
    from profiles.models import MappingRule

    profile = make_profile(instance)
    rule = MappingRule(mapping=profile.mappings.get(), kind="subject", pattern="x")
    with pytest.raises(ValidationError, match="default mapping has no rules"):
        rule.full_clean()


def test_empty_list_field_means_inherit(instance) -> None:
    profile = make_profile(instance)
    mapping = ProjectMapping(profile=profile, name="Blank", subject_cleanups="  ", body_cleanups="")
    mapping.full_clean()
    assert mapping.subject_cleanups is None and mapping.body_cleanups is None


def test_invalid_regex_lines_are_named(instance) -> None:
    profile = make_profile(instance)
    mapping = ProjectMapping(profile=profile, name="Bad", body_cleanups="ok\n(unclosed")
    with pytest.raises(ValidationError) as caught:
        mapping.full_clean()
    assert "line 2" in caught.value.message_dict["body_cleanups"][0]


def test_profile_without_default_mapping_gives_a_clear_error(instance) -> None:
    profile = make_profile(instance)
    profile.mappings.all().delete()
    with pytest.raises(ProfileConfigError, match="no default project mapping"):
        load_profile_config(profile.pk)
    with pytest.raises(ProfileConfigError, match="does not exist"):
        load_profile_config(profile.pk + 1000)
