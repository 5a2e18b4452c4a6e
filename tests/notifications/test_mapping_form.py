"""The notification mapping's projects and event kinds are checkboxes stored as the same JSON lists (issue 19: they
were JSON text boxes, and ``SUP, OPS`` gave "Enter a valid JSON.")."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from jemh.models import Instance
from notifications.models import NotificationMapping
from trackers.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture()
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create(username="root", is_staff=True, is_superuser=True))
    return client


def _post(instance: Instance, **fields: object) -> dict[str, object]:
    values = {"instance": instance.pk, "name": "Customers", "enabled": "on", "format": "both"}
    return {**values, "attachment_max_bytes": 10_000_000, **fields}


def test_projects_and_event_kinds_are_checkboxes_of_the_trackers_values(admin_client: Client) -> None:
    instance = Instance.objects.create(name="Acme")
    Project.objects.create(instance=instance, key="SUP", name="Support")
    Project.objects.create(instance=instance, key="OPS", name="Operations")
    url = reverse("admin:notifications_notificationmapping_add")
    page = admin_client.get(url).content.decode()
    assert (
        'type="checkbox" name="projects" value="OPS"' in page and 'type="checkbox" name="projects" value="SUP"' in page
    )
    assert 'type="checkbox" name="event_kinds" value="created"' in page
    assert page.count('name="event_kinds"') == page.count('name="event_kinds" value="') == 5
    assert page.count("checked>") >= 5 and 'value="deleted" id="id_event_kinds_4" checked' in page  # all, as before
    response = admin_client.post(url, _post(instance, projects=["SUP", "OPS"], event_kinds=["created", "commented"]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    mapping = NotificationMapping.objects.get()
    assert mapping.projects == ["SUP", "OPS"] and mapping.event_kinds == ["created", "commented"]
    change = admin_client.get(reverse("admin:notifications_notificationmapping_change", args=[mapping.pk]))
    assert change.context["adminform"].form["projects"].value() == ["SUP", "OPS"]
    refused = admin_client.post(url, _post(instance, name="Other", projects=["NOPE"]))
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


def test_a_project_key_the_tracker_no_longer_has_stays_offered(admin_client: Client) -> None:
    instance = Instance.objects.create(name="Acme")
    Project.objects.create(instance=instance, key="SUP", name="Support")
    mapping = NotificationMapping.objects.create(instance=instance, name="Old", projects=["GONE"])
    form = (
        admin_client.get(reverse("admin:notifications_notificationmapping_change", args=[mapping.pk]))
        .context["adminform"]
        .form
    )
    assert [value for value, _ in form.fields["projects"].choices] == ["SUP", "GONE"]


def test_without_the_trackers_projects_keys_are_typed_as_text(admin_client: Client) -> None:
    down = Instance.objects.create(
        name="Down", tracker_kind="jira", base_url="http://127.0.0.1:9", jira_deployment="cloud"
    )
    mapping = NotificationMapping.objects.create(instance=down, name="Jira", projects=["SUP"])
    url = reverse("admin:notifications_notificationmapping_change", args=[mapping.pk])
    assert 'name="projects" value="SUP"' in admin_client.get(url).content.decode()
    response = admin_client.post(url, _post(down, name="Jira", projects="sup, OPS", event_kinds=["created"]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    mapping.refresh_from_db()
    assert mapping.projects == ["SUP", "OPS"] and mapping.event_kinds == ["created"]
