"""The support views (/support/): who gets in, what a support user sees of an active flag (and only of one), the
access log of every view and download, 404 for anything not flagged (any more), and no admin page for support."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from auditing.flags import flag_message, unflag
from auditing.mailview import FRAME_CSP
from auditing.models import SupportAccess, SupportFlag, SupportSaw
from inbound.models import InboundMessage
from jemh.storage import blob_storage
from tests.auditing.conftest import hostile_mail, staff_user, support_user

pytestmark = pytest.mark.django_db


@pytest.fixture()
def message(deliver: Callable[..., InboundMessage]) -> InboundMessage:
    return deliver(hostile_mail())


@pytest.fixture()
def flag(message: InboundMessage) -> SupportFlag:
    return flag_message(message, "Why did this become a new issue?", staff_user("fran"))


@pytest.fixture()
def sam(client: Client, instance: Any) -> Client:
    client.force_login(support_user("sam"))  # a member of the instance (made first)
    return client


def item_urls(flag: SupportFlag) -> dict[str, str]:
    return {name: reverse(f"support:{name}", args=[flag.pk]) for name in ("item", "html", "eml", "profile")}


def test_the_migration_made_the_support_staff_group_with_the_support_permission_only() -> None:
    group = Group.objects.get(name="Support staff")
    assert [(p.content_type.app_label, p.codename) for p in group.permissions.all()] == [
        ("auditing", "view_flagged_mail")
    ]


def test_the_migration_schedules_the_recording_of_expired_flags() -> None:
    from django_celery_beat.models import PeriodicTask

    from auditing.tasks import EXPIRE_FLAGS_TASK

    task = PeriodicTask.objects.get(task=EXPIRE_FLAGS_TASK)
    assert task.enabled and task.interval is not None and (task.interval.every, task.interval.period) == (10, "minutes")


def test_anonymous_users_are_sent_to_the_support_login(client: Client, flag: SupportFlag) -> None:
    for url in [reverse("support:flags"), *item_urls(flag).values()]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("support:login")), url
    assert not SupportAccess.objects.exists()


def test_users_without_the_support_permission_are_refused(client: Client, flag: SupportFlag) -> None:
    client.force_login(staff_user("viewer", "inbound.view_inboundmessage", "auditing.view_supportflag"))
    for url in [reverse("support:flags"), *item_urls(flag).values()]:
        assert client.get(url).status_code == 403, url


def test_support_login_with_django_auth(client: Client, flag: SupportFlag) -> None:
    support_user("sam")
    response = client.post(reverse("support:login"), {"username": "sam", "password": "pw-sam-42!"})
    assert response.status_code == 302 and response["Location"] == reverse("support:flags")
    assert "Why did this become a new issue?" in client.get(reverse("support:flags")).content.decode()


def test_the_list_shows_active_flags_and_is_recorded(
    sam: Client, flag: SupportFlag, deliver: Callable[..., InboundMessage]
) -> None:
    withdrawn = flag_message(deliver(hostile_mail("Other")), "withdrawn one", None)
    unflag(withdrawn, None)
    expired = flag_message(deliver(hostile_mail("Third")), "expired one", None)
    SupportFlag.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = sam.get(reverse("support:flags"), REMOTE_ADDR="192.0.2.7")
    page = response.content.decode()
    assert "Why did this become a new issue?" in page and "Acme" in page and "created" in page
    assert flag.flagged_at.strftime("%Y-%m-%d %H:%M") in page
    assert "withdrawn one" not in page and "expired one" not in page
    assert [f.pk for f in response.context["flags"]] == [flag.pk]
    access = SupportAccess.objects.get()
    assert (access.username, access.what, access.flag, access.client_address) == (
        "sam",
        SupportSaw.LIST,
        None,
        "192.0.2.7",
    )


def test_the_item_page_shows_the_mail_safely_the_report_and_the_profile_export(sam: Client, flag: SupportFlag) -> None:
    response = sam.get(item_urls(flag)["item"], REMOTE_ADDR="192.0.2.8")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please help, the printer is on fire." in page
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame and f'src="{item_urls(flag)["html"]}"' in frame and "allow-" not in frame
    assert "window.top.hostile" not in page and "evil.example" not in page
    assert "invoice.pdf" in page and "application/pdf" in page  # the attachment list
    assert 'class="jemh-report"' in page and "catch_address" in page  # the report table, by step
    assert "&quot;schema&quot;: &quot;jemh.profile&quot;" in page and "support@support.example.com" in page
    assert "/admin/" not in page  # nothing links into the admin
    access = SupportAccess.objects.get()
    assert (access.what, access.flag_id, access.client_address) == (SupportSaw.ITEM, flag.pk, "192.0.2.8")


def test_the_html_frame_is_sanitised_under_a_strict_csp_and_recorded(sam: Client, flag: SupportFlag) -> None:
    response = sam.get(item_urls(flag)["html"])
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == FRAME_CSP and "script-src" not in FRAME_CSP
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    lowered = response.content.decode().lower()
    assert "hello <b>support</b>" in lowered
    for forbidden in ("<script", "onload", "onerror", "javascript:", "<iframe", "evil.example"):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"\ssrc=", lowered)
    assert SupportAccess.objects.get().what == SupportSaw.HTML


def test_eml_and_profile_downloads_are_recorded(sam: Client, flag: SupportFlag, message: InboundMessage) -> None:
    eml = sam.get(item_urls(flag)["eml"])
    assert eml["Content-Type"] == "application/octet-stream"
    assert eml["Content-Disposition"] == f'attachment; filename="flag-{flag.pk}.eml"'
    assert eml.content == blob_storage().read_bytes(message.raw_blob)
    profile = sam.get(item_urls(flag)["profile"])
    assert profile["Content-Type"] == "application/json"
    assert profile["Content-Disposition"] == f'attachment; filename="profile-flag-{flag.pk}.json"'
    exported = json.loads(profile.content)
    assert exported["schema"] == "jemh.profile" and exported["profile"]["name"] == "Support"
    assert "password" not in profile.content.decode().lower()
    assert list(SupportAccess.objects.order_by("pk").values_list("what", flat=True)) == [
        SupportSaw.EML,
        SupportSaw.PROFILE,
    ]


def test_unknown_unflagged_and_expired_items_answer_404(
    sam: Client, flag: SupportFlag, deliver: Callable[..., InboundMessage]
) -> None:
    for url in item_urls(flag).values():
        assert sam.get(url).status_code == 200, url
    SupportAccess.objects.all().delete()
    never = SupportFlag(pk=flag.pk + 100)
    for url in item_urls(never).values():
        assert sam.get(url).status_code == 404, url
    unflag(flag, None)
    for url in item_urls(flag).values():
        assert sam.get(url).status_code == 404, url
    later = flag_message(deliver(hostile_mail("Later")), "expires", None)
    SupportFlag.objects.filter(pk=later.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for url in item_urls(later).values():  # expiry not yet recorded by the task: 404 all the same
        assert sam.get(url).status_code == 404, url
    assert not SupportAccess.objects.exists()  # nothing seen, nothing recorded


@pytest.mark.parametrize("is_staff", [False, True])
def test_support_users_open_no_admin_page(client: Client, flag: SupportFlag, is_staff: bool) -> None:
    user = support_user("sam", is_staff=is_staff)
    user.user_permissions.add(*Group.objects.get(name="Support staff").permissions.all())
    client.force_login(user)
    for url in [
        reverse("admin:index"),
        reverse("admin:login"),
        reverse("admin:inbound_inboundmessage_changelist"),
        reverse("admin:inbound_inboundmessage_change", args=[flag.message_id]),
        reverse("admin:inbound_inboundmessage_mail_eml", args=[flag.message_id]),
        reverse("admin:auditing_supportflag_changelist"),
        reverse("admin:auditing_supportaccess_changelist"),
    ]:
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("support:flags")).status_code == 200


def test_a_staff_support_user_with_admin_permissions_still_sees_only_flagged_items(
    client: Client, flag: SupportFlag, deliver: Callable[..., InboundMessage]
) -> None:
    user = support_user("sam", is_staff=True)
    user.user_permissions.add(
        *staff_user("x", "inbound.view_inboundmessage", "auditing.view_raw_mail").user_permissions.all()
    )
    client.force_login(user)
    other = deliver(hostile_mail("Not flagged"))
    assert client.get(reverse("admin:inbound_inboundmessage_mail", args=[other.pk])).status_code == 403
    page = client.get(reverse("support:flags")).content.decode()
    assert "Not flagged" not in page and f"{reverse('support:item', args=[flag.pk])}" in page
    assert client.get(reverse("support:item", args=[other.pk + 1000])).status_code == 404


def test_superusers_keep_the_admin(admin_client: Client, flag: SupportFlag) -> None:
    assert admin_client.get(reverse("admin:index")).status_code == 200


def test_admins_see_the_access_log_on_the_message_page_and_as_a_read_only_list(
    sam: Client, flag: SupportFlag, admin_client: Client
) -> None:
    sam.get(item_urls(flag)["item"], REMOTE_ADDR="198.51.100.4")
    sam.get(item_urls(flag)["eml"], REMOTE_ADDR="198.51.100.4")
    page = admin_client.get(reverse("admin:inbound_inboundmessage_change", args=[flag.message_id])).content.decode()
    log = page.split('id="jemh-support-flags"')[1].split("</fieldset>")[0]
    assert "sam" in log and ".eml download" in log and "item page" in log and "198.51.100.4" in log
    listing = admin_client.get(reverse("admin:auditing_supportaccess_changelist")).content.decode()
    assert "198.51.100.4" in listing and ".eml download" in listing
    assert admin_client.get(reverse("admin:auditing_supportaccess_add")).status_code == 403
    access = SupportAccess.objects.first()
    change = admin_client.get(reverse("admin:auditing_supportaccess_change", args=[access.pk])).content.decode()
    assert 'type="submit"' not in change.split('id="content-main"')[1] or "Save" not in change
