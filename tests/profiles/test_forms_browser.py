"""The forms of a first setup, in a real Chromium at 1366x768, as a new admin meets them (issue 19): a new profile's
default mapping is filled in and saves as it is; a source's form shows only the fields of its kind, and a pipe
source the lines for the MTA; a notification mapping's projects and events are checkboxes. Screenshots of each go
to var/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inbound.models import Source
from jemh.models import Instance
from notifications.models import NotificationMapping
from profiles.models import Profile
from profiles.models.mappings import INHERIT_HELP
from tests.admin_browser import screenshot, signed_in_page
from trackers.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture()
def setup(chromium: Any, live_server: Any) -> tuple[Any, Instance]:
    user_model = get_user_model()
    root = user_model.objects.create(username="root", is_staff=True, is_superuser=True)
    instance = Instance.objects.create(name="Acme")
    Project.objects.create(instance=instance, key="SUP", name="Support", lead=root)
    return signed_in_page(chromium, live_server, root), instance


def test_new_profile_saves_with_its_prefilled_default_mapping(live_server: Any, setup: tuple[Any, Instance]) -> None:
    page, instance = setup
    page.goto(live_server.url + reverse("admin:profiles_profile_add"))
    mapping = page.locator("#mappings-0")
    assert mapping.locator("#id_mappings-0-is_default").is_checked()
    assert mapping.locator("#id_mappings-0-project_key").input_value() == "SUP"
    assert mapping.locator("#id_mappings-0-issue_type").input_value() == "Task"
    assert INHERIT_HELP not in mapping.inner_text()
    page.select_option("#id_instance", str(instance.pk))
    page.fill("#id_name", "Support")
    page.fill("#id_catch_addresses-0-address", "support@example.com")
    screenshot(page, "issue19-profile-add")
    page.locator("input[name=_save]").click()
    page.wait_for_url(live_server.url + reverse("admin:profiles_profile_changelist"))
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    default = Profile.objects.get(name="Support").mappings.get()
    assert (default.is_default, default.project_key, default.default_reporter) == (True, "SUP", "root")


def test_source_form_shows_the_fields_of_its_kind(live_server: Any, setup: tuple[Any, Instance]) -> None:
    page, instance = setup
    page.goto(live_server.url + reverse("admin:inbound_source_add"))
    assert page.locator("#id_host").is_visible() and not page.locator("#id_maildir_path").is_visible()  # IMAP
    page.select_option("#id_kind", "maildir")
    assert page.locator("#id_maildir_path").is_visible() and not page.locator("#id_host").is_visible()
    assert not page.locator("#id_folder").is_visible()
    page.select_option("#id_kind", "pop3")
    assert page.locator("#id_delete_after_capture").is_visible() and not page.locator("#id_folder").is_visible()
    page.select_option("#id_kind", "pipe")
    for hidden in ("host", "password", "folder", "maildir_path", "poll_interval", "read_strategy"):
        assert not page.locator(f"#id_{hidden}").is_visible(), hidden
    assert page.locator("#id_max_message_size").is_visible()
    page.select_option("#id_instance", str(instance.pk))
    page.fill("#id_name", "mx")
    screenshot(page, "issue19-source-add-pipe")
    page.locator("input[name=_continue]").click()
    page.wait_for_selector("pre.jemh-mta")
    text = page.locator(".field-mta_lines").inner_text()
    assert "jemh deliver --source mx" in text and "/etc/aliases" in text and "driver = pipe" in text
    assert not page.locator("#id_host").is_visible()
    screenshot(page, "issue19-source-pipe-mta-lines")
    assert Source.objects.get(name="mx").kind == "pipe"


def test_notification_mapping_projects_and_events_are_checkboxes(live_server: Any, setup: tuple[Any, Instance]) -> None:
    page, instance = setup
    page.goto(live_server.url + reverse("admin:notifications_notificationmapping_add"))
    page.select_option("#id_instance", str(instance.pk))
    page.fill("#id_name", "Customers")
    page.check("input[name=projects][value=SUP]")
    for kind in ("updated", "resolved", "deleted"):
        page.uncheck(f"input[name=event_kinds][value={kind}]")
    screenshot(page, "issue19-notification-mapping-add")
    page.locator("input[name=_save]").click()
    page.wait_for_url(live_server.url + reverse("admin:notifications_notificationmapping_changelist"))
    mapping = NotificationMapping.objects.get(name="Customers")
    assert mapping.projects == ["SUP"] and mapping.event_kinds == ["created", "commented"]
