"""Profile export and import: no secrets, identical round trips, clear errors, all or nothing."""

from __future__ import annotations

import copy
import json
import re

import pytest
from django.test.utils import isolate_apps

from jemh.fields import EncryptedJSONField, EncryptedTextField
from jemh.models import Instance
from profiles.models import Profile, ProjectMapping, TestCase
from profiles.portability import (
    SCHEMA,
    SCHEMA_VERSION,
    ProfileImportError,
    export_profile,
    export_profile_json,
    exported_fields,
    import_profile,
)
from profiles.routing import MessageFacts, select_mapping
from profiles.services import load_profile_config

SECRET_LOOKING = re.compile(r"password|passwd|token|secret|credential|api_?key|private_?key|access_?key", re.I)


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_export_has_schema_and_no_ids_or_instance(rich_profile) -> None:
    data = export_profile(rich_profile)
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    keys = _keys(data)
    assert not keys & {"id", "pk", "instance", "profile_id", "mapping", "created_at", "updated_at"}
    assert "Acme" not in json.dumps(data)  # the instance is not named
    assert len(data["profile"]["mappings"]) == 3 and "test_cases" not in data["profile"]
    json.dumps(data)  # JSON-able


def test_export_contains_no_secret(rich_profile) -> None:
    text = export_profile_json(rich_profile)
    assert not {key for key in _keys(json.loads(text)) if SECRET_LOOKING.search(key)}
    # No value of an encrypted field (the test case's raw message is the only one in the profile).
    encrypted_values = [
        getattr(obj, field.name)
        for model, objects in ((TestCase, TestCase.objects.filter(profile=rich_profile)),)
        for obj in objects
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | EncryptedJSONField) and getattr(obj, field.name) is not None
    ]
    assert encrypted_values
    for value in encrypted_values:
        assert value not in text and "hello" not in text


@isolate_apps("profiles")
def test_secret_fields_are_never_exported() -> None:
    from django.db import models

    class Connection(models.Model):
        host = models.CharField(max_length=10)
        password = models.CharField(max_length=10)
        api_key = models.CharField(max_length=10)
        oauth_token = models.CharField(max_length=10)
        note = EncryptedTextField()

        class Meta:
            app_label = "profiles"

    assert [field.name for field in exported_fields(Connection)] == ["host"]


def test_test_cases_only_on_request(rich_profile) -> None:
    data = export_profile(rich_profile, include_test_cases=True)
    assert data["profile"]["test_cases"] == [
        {"name": "new request", "raw_message": "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"},
    ]


def _without_names(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["profile"].pop("name")
    return data


def test_round_trip_is_identical(rich_profile) -> None:
    first = export_profile(rich_profile, include_test_cases=True)
    other = Instance.objects.create(name="Other")
    imported = import_profile(json.dumps(first), other)
    assert imported.instance == other and imported.name == "Support"
    second = export_profile(imported, include_test_cases=True)
    assert second == first
    renamed = import_profile(first, rich_profile.instance, name="Support copy")
    assert _without_names(export_profile(renamed, include_test_cases=True)) == _without_names(first)
    assert TestCase.objects.get(profile=renamed).raw_message == first["profile"]["test_cases"][0]["raw_message"]


def test_import_reproduces_behaviour(rich_profile) -> None:
    copy_ = import_profile(export_profile(rich_profile), rich_profile.instance, name="Copy")
    original, imported = load_profile_config(rich_profile.pk), load_profile_config(copy_.pk)
    cases = [
        MessageFacts(sender="a@b.org", recipients=("support+sales@example.com",)),
        MessageFacts(sender="a@b.org", headers={"X-Customer-Tier": ("gold",)}),
        MessageFacts(sender="a@customer.example", subject="VIP"),
        MessageFacts(sender="a@b.org"),
    ]
    for facts in cases:
        a, b = select_mapping(original, facts)[0], select_mapping(imported, facts)[0]
        assert (a.name, a.project_key, a.priority, a.inherited) == (b.name, b.project_key, b.priority, b.inherited)
    for section in (
        "filters",
        "directives",
        "association",
        "rejection",
        "limits",
        "attachments",
        "workflow",
        "catch_addresses",
        "hints",
        "content",
        "forward_to",
        "reply_address",
        "non_catch_action",
    ):
        assert getattr(original, section) == getattr(imported, section), section


def _error(data: object, instance: Instance, **kwargs: object) -> str:
    with pytest.raises(ProfileImportError) as caught:
        import_profile(data, instance, **kwargs)  # type: ignore[arg-type]  # malformed input on purpose
    return str(caught.value)


def test_import_errors_are_clear(rich_profile) -> None:
    instance = rich_profile.instance
    good = export_profile(rich_profile)
    assert "not valid JSON" in _error("{not json", instance) and "line 1" in _error("{not json", instance)
    assert "not UTF-8" in _error(b"\xff\xfe\x00", instance)
    assert "no 'schema' field" in _error({"name": "x"}, instance)
    assert "no 'schema' field" in _error("[1, 2]", instance)
    assert "not a profile export: its schema is 'jemh.notification'" in _error(
        {**good, "schema": "jemh.notification"}, instance
    )
    newer = _error({**good, "schema_version": SCHEMA_VERSION + 1}, instance)
    assert "newer version" in newer and "Upgrade" in newer
    assert "schema_version '1' is not valid" in _error({**good, "schema_version": "1"}, instance)
    assert "no 'profile' object" in _error({"schema": SCHEMA, "schema_version": 1}, instance)
    assert "already has a profile named 'Support'" in _error(good, instance)

    broken = copy.deepcopy(good)
    del broken["profile"]["mappings"][1]["project_key"]
    assert "profile.mappings[1]: missing field(s) project_key" in _error(broken, instance, name="B")
    broken = copy.deepcopy(good)
    broken["profile"]["catch_addresses"][0]["colour"] = "red"
    assert "profile.catch_addresses[0]: unknown field(s) colour" in _error(broken, instance, name="B")
    broken = copy.deepcopy(good)
    broken["profile"]["enabled"] = "yes"
    assert "profile.enabled: expected true or false" in _error(broken, instance, name="B")
    broken = copy.deepcopy(good)
    broken["profile"]["filter_rules"][0]["pattern"] = "(unclosed"
    assert "profile.filter_rules[0]: pattern:" in _error(broken, instance, name="B")
    broken = copy.deepcopy(good)
    broken["profile"]["mappings"][0]["is_default"] = False
    assert "exactly one mapping must be the default" in _error(broken, instance, name="B")
    broken = copy.deepcopy(good)
    del broken["profile"]["workflow_rules"]
    assert "profile: missing field(s) workflow_rules" in _error(broken, instance, name="B")


def test_import_is_all_or_nothing(rich_profile) -> None:
    data = export_profile(rich_profile)
    data["profile"]["mappings"][-1]["rules"][0]["kind"] = "astrology"  # the very last object is invalid
    counts = (Profile.objects.count(), ProjectMapping.objects.count())
    message = _error(data, rich_profile.instance, name="Half")
    assert "rules[0]: kind:" in message
    assert (Profile.objects.count(), ProjectMapping.objects.count()) == counts
    assert not Profile.objects.filter(name="Half").exists()


def test_an_export_made_before_a_setting_existed_still_imports(rich_profile, instance) -> None:
    """Regression: the sender-authentication settings (issue 14) made every older export fail to import."""
    older = export_profile(rich_profile)
    del older["profile"]["sender_authentication"]  # a setting with a default, added after the export was made
    for mapping in older["profile"]["mappings"]:
        mapping.pop("stranger_action", None)
    imported = import_profile(older, instance, name="From an older export")
    assert imported.sender_authentication == Profile._meta.get_field("sender_authentication").get_default()
