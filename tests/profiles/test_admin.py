"""The admin pages of profiles, through Django's test client logged in as a superuser."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from jemh.models import Instance
from profiles.admin import PROFILE_FIELDSETS
from profiles.models import Profile, TestCase
from profiles.portability import export_profile, exported_fields


@pytest.fixture()
def admin_client(db) -> Client:
    # no password: force_login needs none, and hashing one costs a second per test
    user = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def _form_data(response) -> dict[str, object]:
    """The POST data of an admin change form as rendered (main form, inline management forms and forms)."""
    data: dict[str, object] = {}

    def add(form) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = [str(v) for v in value] if isinstance(value, list | tuple) else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def test_every_profile_field_is_in_the_admin() -> None:
    shown = {name for _, options in PROFILE_FIELDSETS for name in options["fields"]}
    editable = {f.name for f in Profile._meta.concrete_fields if f.editable and not f.primary_key}
    assert editable - {"created_at", "updated_at"} == shown


def test_changelist_links_the_import_view(admin_client, rich_profile) -> None:
    response = admin_client.get(reverse("admin:profiles_profile_changelist"))
    assert response.status_code == 200
    assert reverse("admin:profiles_profile_import") in response.content.decode()
    assert "support@example.com" in response.content.decode()


def test_change_page_with_inlines_renders_and_saves(admin_client, rich_profile) -> None:
    url = reverse("admin:profiles_profile_change", args=[rich_profile.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Catch addresses",
        "project mappings",
        "Sales",
        "company logo",
        "Waiting for Customer",
        "help-[a-z]+@example",
        "Hint texts",
    ):
        assert text.lower() in page.lower(), text
    before = export_profile(rich_profile)
    data = _form_data(response)
    data["description"] = "edited in the admin"
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    rich_profile.refresh_from_db()
    assert rich_profile.description == "edited in the admin"
    after = export_profile(rich_profile)
    after["profile"]["description"] = before["profile"]["description"]
    assert after == before  # saving the unchanged inlines changed nothing else


def test_add_page_requires_exactly_one_default_mapping(admin_client, instance) -> None:
    url = reverse("admin:profiles_profile_add")
    response = admin_client.get(url)
    assert response.status_code == 200
    data = _form_data(response)
    prefix = "mappings-0-"
    data.update(
        {
            "instance": instance.pk,
            "name": "New",
            "catch_addresses-0-address": "new@example.com",
            f"{prefix}name": "Default",
            f"{prefix}project_key": "NEW",
            f"{prefix}issue_type": "Task",
            f"{prefix}default_summary": "(none given)",
            f"{prefix}reporter_strategy": "sender",
            f"{prefix}default_reporter": "helpdesk",
            f"{prefix}assignee_strategy": "project_lead",
            f"{prefix}operating_mode": "create_and_comment",
            f"{prefix}unknown_sender_action": "email_only",
            f"{prefix}addressee_handling": "ignore",
        }
    )
    assert data.pop(f"{prefix}is_default") is True  # the new profile's first mapping starts as its default
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "exactly one default project mapping" in refused.content.decode()
    data[f"{prefix}is_default"] = "on"
    created = admin_client.post(url, data)
    assert created.status_code == 302
    profile = Profile.objects.get(name="New")
    assert profile.mappings.get().is_default
    assert profile.catch_addresses.get().address == "new@example.com"


def test_mapping_change_page_shows_rules_and_effective_values(admin_client, rich_profile) -> None:
    sales = rich_profile.mappings.get(name="Sales")
    response = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[sales.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "customer\\.example" in page and "inherited" in page and "helpdesk" in page
    default = rich_profile.mappings.get(is_default=True)
    assert admin_client.get(reverse("admin:profiles_projectmapping_change", args=[default.pk])).status_code == 200
    assert admin_client.get(reverse("admin:profiles_projectmapping_changelist")).status_code == 200


def test_export_action_downloads_json(admin_client, rich_profile) -> None:
    url = reverse("admin:profiles_profile_changelist")
    response = admin_client.post(url, {"action": "export_json", "_selected_action": [rich_profile.pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="profile-support.json"' in response["Content-Disposition"]
    assert json.loads(response.content) == export_profile(rich_profile)
    other = Profile.objects.create(instance=rich_profile.instance, name="Second")
    several = admin_client.post(
        url, {"action": "export_json", "_selected_action": [rich_profile.pk, other.pk]}, follow=True
    )
    assert "Select exactly one profile" in several.content.decode()


def test_import_view(admin_client, rich_profile) -> None:
    url = reverse("admin:profiles_profile_import")
    assert admin_client.get(url).status_code == 200
    target = Instance.objects.create(name="Target")
    upload = SimpleUploadedFile("p.json", json.dumps(export_profile(rich_profile)).encode(), "application/json")
    response = admin_client.post(url, {"instance": target.pk, "file": upload})
    imported = Profile.objects.get(instance=target)
    assert response.status_code == 302 and response["Location"].endswith(f"/{imported.pk}/change/")
    assert imported.mappings.count() == 3
    refused = admin_client.post(url, {"instance": target.pk, "text": '{"schema": "something.else"}'})
    assert refused.status_code == 200
    assert "This is not a profile export" in refused.content.decode()
    assert "Choose a file" in admin_client.post(url, {"instance": target.pk}).content.decode()


def test_import_view_needs_add_permission(db, rich_profile) -> None:
    staff = get_user_model().objects.create(username="staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("admin:profiles_profile_import")).status_code == 403


def test_test_case_admin_upload(admin_client, rich_profile) -> None:
    url = reverse("admin:profiles_testcase_add")
    assert admin_client.get(url).status_code == 200
    raw = b"From: a@example.org\r\nSubject: caf\xe9\r\n\r\nlatin-1 body \xe9\r\n"
    response = admin_client.post(
        url,
        {"profile": rich_profile.pk, "name": "uploaded", "raw_message": "", "upload": SimpleUploadedFile("m.eml", raw)},
    )
    assert response.status_code == 302
    case = TestCase.objects.get(name="uploaded")
    assert case.raw_bytes == raw  # not UTF-8: kept byte for byte
    refused = admin_client.post(url, {"profile": rich_profile.pk, "name": "empty", "raw_message": ""})
    assert "Paste the message source" in refused.content.decode()
    change = admin_client.get(reverse("admin:profiles_testcase_change", args=[case.pk]))
    assert change.status_code == 200 and "Not run yet." in change.content.decode()


def test_exported_fields_cover_each_model() -> None:
    # Everything an admin edits travels in the export (test cases' raw message only on request).
    from profiles.portability import CHILDREN

    models: tuple[tuple[str | None, type[Model]], ...] = (*CHILDREN, (None, Profile))
    for _key, model in models:
        editable = {
            f.name for f in model._meta.concrete_fields if f.editable and not f.primary_key and not f.is_relation
        }
        assert editable - {"created_at", "updated_at"} == {f.name for f in exported_fields(model)}, model
