"""The settings against hostile senders (issue 14): their secure defaults, inheritance and validation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from inbound.models import Source, SourceKind, authserv_ids
from profiles.choices import SenderAuthentication, StrangerAction
from profiles.models import ProjectMapping
from profiles.services import load_profile_config
from tests.profiles.conftest import make_profile

pytestmark = pytest.mark.django_db


def test_the_defaults_are_the_secure_choices(instance) -> None:
    config = load_profile_config(make_profile(instance).pk)
    default = config.default_mapping
    assert config.sender_authentication == SenderAuthentication.REQUIRE
    assert config.directives.email_only == ("priority", "labels")
    assert config.hints.grace_hours == 24
    assert (default.stranger_action, default.sender_becomes_participant) == (StrangerAction.HOLD, False)
    assert (default.addressees_per_message, default.participants_per_issue) == (10, 50)


def test_a_mapping_inherits_the_stranger_policy_and_caps_of_the_default(instance) -> None:
    profile = make_profile(instance)
    ProjectMapping.objects.filter(profile=profile, is_default=True).update(
        stranger_action="reject", addressees_per_message=3
    )
    ProjectMapping.objects.create(profile=profile, name="Billing", project_key="BIL", participants_per_issue=5)
    [billing] = load_profile_config(profile.pk).mappings
    assert (billing.stranger_action, billing.addressees_per_message, billing.participants_per_issue) == (
        "reject",
        3,
        5,
    )
    assert {"stranger_action", "addressees_per_message"} <= billing.inherited


@pytest.mark.parametrize("name", ["assignee", "project", "customfield_10100", "security", "watchers", "nonsense"])
def test_email_only_senders_may_never_be_given_a_directive_naming_a_person_project_or_field(instance, name) -> None:
    profile = make_profile(instance)
    profile.email_only_directives = f"priority\n{name}"
    with pytest.raises(ValidationError) as raised:
        profile.full_clean()
    assert "email_only_directives" in raised.value.message_dict


def test_a_source_trusts_only_well_formed_authserv_ids(instance) -> None:
    source = Source(instance=instance, name="mx", kind=SourceKind.PIPE, trusted_authserv_ids="mx.example.com\nbad id;")
    with pytest.raises(ValidationError) as raised:
        source.full_clean()
    assert "trusted_authserv_ids" in raised.value.message_dict
    assert authserv_ids(" MX.example.com \n\nmx.example.com\nmx2.example.com") == ("mx.example.com", "mx2.example.com")
