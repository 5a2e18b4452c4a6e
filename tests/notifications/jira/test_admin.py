"""The instance page shows the full webhook URL to paste into Jira, says whether a secret is set (never the secret),
warns that a URL without a secret is weaker, and makes a new URL on request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jemh.models import Instance
from notifications.webhooks.signature import sign
from tests.notifications.jira.conftest import SECRET, hook_path
from tests.tenancy import member_of_every_instance


@pytest.mark.django_db
def test_instance_page_shows_the_url_and_never_the_secret(admin_client: Client, jira_instance: Instance) -> None:
    page = admin_client.get(reverse("admin:jemh_instance_change", args=[jira_instance.pk])).content.decode()
    assert f"http://testserver/hooks/jira/{jira_instance.jira_webhook_token}/" in page
    assert SECRET not in page
    assert "X-Hub-Signature" in page and "weaker" not in page

    jira_instance.jira_webhook_secret = ""
    jira_instance.save()
    page = admin_client.get(reverse("admin:jemh_instance_change", args=[jira_instance.pk])).content.decode()
    assert "weaker" in page


@pytest.mark.django_db
def test_saving_the_form_keeps_the_secret_when_left_empty(admin_client: Client, jira_instance: Instance) -> None:
    url = reverse("admin:jemh_instance_change", args=[jira_instance.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "admins"}
    data.update({"jira_webhook_secret": "", "jira_email": "", "jira_api_token": "", "jira_pat": ""})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    jira_instance.refresh_from_db()
    assert jira_instance.jira_webhook_secret == SECRET


@pytest.mark.django_db
def test_new_webhook_url_action_replaces_the_token(
    admin_client: Client, client: Client, jira_instance: Instance, mapping: Any
) -> None:
    old_path = hook_path(jira_instance)
    admin_client.post(
        reverse("admin:jemh_instance_changelist"),
        {"action": "new_webhook_tokens", "_selected_action": [jira_instance.pk]},
    )
    jira_instance.refresh_from_db()
    assert hook_path(jira_instance) != old_path
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "SUP-1"}}).encode()
    headers = {"X-Hub-Signature": sign(SECRET, body)}
    assert client.post(old_path, data=body, content_type="application/json", headers=headers).status_code == 404
    new = client.post(hook_path(jira_instance), data=body, content_type="application/json", headers=headers)
    assert new.status_code == 202


@pytest.mark.django_db
def test_every_instance_gets_its_own_token() -> None:
    first = Instance.objects.create(name="One")
    second = Instance.objects.create(name="Two")
    assert first.jira_webhook_token and second.jira_webhook_token
    assert first.jira_webhook_token != second.jira_webhook_token
    assert len(first.jira_webhook_token) >= 40


@pytest.mark.django_db
def test_a_view_only_user_never_sees_the_webhook_token(client: Client, jira_instance: Instance) -> None:
    """The token admits deliveries (alone, without a secret): it is a secret like the others."""
    from django.contrib.auth.models import Permission, User

    viewer = member_of_every_instance(User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True))
    viewer.user_permissions.add(Permission.objects.get(codename="view_instance"))
    client.force_login(viewer)
    page = client.get(reverse("admin:jemh_instance_change", args=[jira_instance.pk]))
    assert page.status_code == 200
    assert jira_instance.jira_webhook_token not in page.content.decode()
    assert "shown to users who may change the instance" in page.content.decode()
