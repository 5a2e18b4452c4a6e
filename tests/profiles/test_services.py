"""Profile services used by the other apps: which profile mail is processed with, and test cases made from mail."""

from __future__ import annotations

import pytest

from jemh.models import Instance
from profiles.models import Profile, TestCase
from profiles.services import NoProfile, ProfileConfigError, create_test_case, processing_profile_id
from tests.profiles.conftest import make_profile

pytestmark = pytest.mark.django_db


def test_the_sources_profile_wins_over_the_instances_only_one(instance: Instance) -> None:
    only = make_profile(instance)
    chosen = make_profile(instance, name="Billing", enabled=False)
    assert processing_profile_id(instance.pk, chosen.pk) == chosen.pk
    assert processing_profile_id(instance.pk, None) == only.pk


def test_no_or_several_enabled_profiles_say_what_to_do(instance: Instance) -> None:
    with pytest.raises(NoProfile) as none:
        processing_profile_id(instance.pk, None, source_name="helpdesk")
    assert none.value.enabled == 0
    assert str(none.value) == (
        "no profile is set for source 'helpdesk' and the instance has 0 enabled profiles: "
        "choose the source's profile in the admin"
    )
    make_profile(instance)
    make_profile(instance, name="Billing")
    make_profile(instance, name="Old", enabled=False)
    with pytest.raises(NoProfile) as several:
        processing_profile_id(instance.pk, None)
    assert several.value.enabled == 2 and "source '(no source)'" in str(several.value)
    assert isinstance(several.value, ProfileConfigError)  # processing records it as an error for a human


def test_only_the_instances_own_profiles_count(instance: Instance) -> None:
    other = Instance.objects.create(name="Other")
    make_profile(other)
    mine = make_profile(instance)
    assert processing_profile_id(instance.pk, None) == mine.pk
    Profile.objects.filter(pk=mine.pk).update(enabled=False)
    with pytest.raises(NoProfile):
        processing_profile_id(instance.pk, None)


def test_create_test_case_keeps_the_raw_mail_byte_for_byte(instance: Instance) -> None:
    profile = make_profile(instance)
    raw = b"Subject: caf\xe9\r\n\r\nnot UTF-8: \xff\xfe\r\n"
    case = create_test_case(profile.pk, "x" * 300, raw)
    stored = TestCase.objects.get(pk=case.pk)
    assert stored.raw_bytes == raw and stored.profile == profile
    assert stored.name == "x" * 200  # cut to the field's length
