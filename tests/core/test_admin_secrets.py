"""Secrets in the admin are write-only: "set"/"not set", a box to replace, a checkbox to clear; never the value,
on edit pages and view-only pages alike (issue 12: a view-only user read the mailbox password)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from jemh.admin_secrets import SecretField, SecretInput
from jemh.models import Instance, JiraDeployment, TrackerKind
from tests.tenancy import member_of_every_instance

pytestmark = pytest.mark.django_db


@pytest.fixture()
def site() -> Instance:
    return Instance.objects.create(
        name="site",
        tracker_kind=TrackerKind.JIRA,
        base_url="https://x.example",
        jira_deployment=JiraDeployment.DATA_CENTER,
        jira_pat="pat-secret-1",
    )


def form_data(client: Client, url: str) -> dict[str, Any]:
    """The change form's own values, as a browser would post them back untouched."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if isinstance(field, SecretField):
            continue  # an untouched secret posts an empty box and no tick
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = [getattr(v, "pk", v) for v in value] if isinstance(value, list) else getattr(value, "pk", value)
    return data


def test_blank_keeps_typed_replaces_clear_removes(admin_client: Client, site: Instance) -> None:
    url = reverse("admin:jemh_instance_change", args=[site.pk])
    page = admin_client.get(url).content.decode()
    assert "pat-secret-1" not in page and 'name="jira_pat_0"' in page and 'name="jira_pat_1"' in page
    data = form_data(admin_client, url)
    assert admin_client.post(url, data).status_code == 302
    site.refresh_from_db()
    assert site.jira_pat == "pat-secret-1"
    assert admin_client.post(url, {**data, "jira_pat_0": "pat-secret-2"}).status_code == 302
    site.refresh_from_db()
    assert site.jira_pat == "pat-secret-2"
    assert admin_client.post(url, {**data, "jira_pat_0": "ignored", "jira_pat_1": "on"}).status_code == 302
    site.refresh_from_db()
    assert site.jira_pat == ""
    assert '<span class="jemh-secret-state">not set</span>' in admin_client.get(url).content.decode()


def test_a_view_only_user_sees_set_and_cannot_post(site: Instance) -> None:
    user = member_of_every_instance(get_user_model().objects.create_user("viewer", is_staff=True))
    user.user_permissions.set(Permission.objects.filter(codename="view_instance"))
    client = Client()
    client.force_login(user)
    url = reverse("admin:jemh_instance_change", args=[site.pk])
    page = client.get(url).content.decode()
    assert "pat-secret-1" not in page and '<span class="jemh-secret-state">set</span>' in page
    assert "jira_pat_0" not in page  # no box to type into on a read-only page
    assert client.post(url, {"jira_pat_0": "", "jira_pat_1": "on", "name": "site"}).status_code == 403
    site.refresh_from_db()
    assert site.jira_pat == "pat-secret-1"


def test_the_widget_never_renders_the_value() -> None:
    html = SecretInput().render("token", "hunter2", attrs={"id": "id_token"}, renderer=None)
    assert "hunter2" not in html and "not set" not in html and ">set<" in html and 'type="password"' in html
    assert "hunter2" not in SecretInput().render("token", "hunter2")
