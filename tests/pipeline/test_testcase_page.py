"""Test cases run from their own page (issue 19: only from the list's actions, the result JSON on another page): a
"Dry run" button (changing the test case is enough) and "Run for real" (its own permission), and the report shown as
the inbound page's report table beside the message."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from inbound.models import InboundMessage
from profiles.models import Profile, TestCase
from tests.admin_browser import screenshot, signed_in_page
from tests.pipeline.conftest import mail
from tests.tenancy import member_of_every_instance
from trackers.models import Issue


def _case(profile: Profile) -> TestCase:
    return TestCase.objects.create(profile=profile, name="printer", raw_message=mail().decode())


def _staff(username: str, *codenames: str) -> Client:
    user = member_of_every_instance(get_user_model().objects.create(username=username, is_staff=True))
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_dry_run_from_the_page_shows_the_report_beside_the_message(admin_client: Any, profile: Profile) -> None:
    case = _case(profile)
    change = reverse("admin:profiles_testcase_change", args=[case.pk])
    page = admin_client.get(change).content.decode()
    assert 'value="dry"' in page and 'value="real"' in page and "Not run yet." in page
    response = admin_client.post(reverse("admin:profiles_testcase_run", args=[case.pk]), {"mode": "dry"})
    assert response.status_code == 302 and response["Location"] == change + "#jemh-last-run"
    page = admin_client.get(change).content.decode()
    last_run = page.split('id="jemh-last-run"')[1]
    assert "(dry run: nothing was created)" in last_run
    message, report = last_run.split('class="jemh-message"')[1].split('class="jemh-run-report"')
    assert "Subject: Printer on fire" in message
    assert '<table class="jemh-report">' in report and "<td>catch_address</td>" in report
    assert Issue.objects.count() == 0 and InboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_run_for_real_from_the_page_needs_its_permission(profile: Profile) -> None:
    case = _case(profile)
    run = reverse("admin:profiles_testcase_run", args=[case.pk])
    changer = _staff("changer", "view_testcase", "change_testcase")
    page = changer.get(reverse("admin:profiles_testcase_change", args=[case.pk])).content.decode()
    assert 'value="dry"' in page and 'value="real"' not in page
    assert changer.post(run, {"mode": "real"}).status_code == 403
    assert Issue.objects.count() == 0
    assert changer.get(run).status_code == 405  # a run changes things: POST only
    assert changer.post(run, {"mode": "dry"}).status_code == 302
    case.refresh_from_db()
    assert case.last_run_report is not None and case.last_run_report["dry_run"] is True
    runner = _staff("runner", "view_testcase", "change_testcase", "run_testcase")
    assert runner.post(run, {"mode": "real"}).status_code == 302
    issue = Issue.objects.get()
    case.refresh_from_db()
    assert case.last_run_report["dry_run"] is False and case.last_run_report["outcome"] == "created"
    assert InboundMessage.objects.get(pk=case.last_run_report["inbound_id"]).issue_key == issue.key
    page = runner.get(reverse("admin:profiles_testcase_change", args=[case.pk])).content.decode()
    assert f"inbound #{case.last_run_report['inbound_id']}" in page and issue.key in page


@pytest.mark.django_db(transaction=True)
def test_dry_run_button_in_chromium(chromium: Any, live_server: Any, profile: Profile) -> None:
    case = _case(profile)
    root = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    page = signed_in_page(chromium, live_server, root)
    page.goto(live_server.url + reverse("admin:profiles_testcase_change", args=[case.pk]))
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_selector("#jemh-last-run table.jemh-report")
    assert "Printer: created" in page.locator(".messagelist").inner_text()
    message = page.locator("#jemh-last-run .jemh-message").bounding_box()
    report = page.locator("#jemh-last-run .jemh-run-report").bounding_box()
    assert message and report
    assert report["x"] >= message["x"] + message["width"]  # beside it, not below
    assert report["x"] + report["width"] <= 1366
    assert abs(report["y"] - message["y"]) < 5
    page.locator("#jemh-last-run").scroll_into_view_if_needed()
    screenshot(page, "issue19-test-case-dry-run")
