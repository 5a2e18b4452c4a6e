"""Test cases in the admin: a dry run reports without creating anything; a real run creates."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from profiles.models import TestCase
from tests.pipeline.conftest import mail
from trackers.models import Issue

pytestmark = pytest.mark.django_db


def test_dry_run_and_real_run_actions(client, profile, projects) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.test", "pw-Long-enough-42")
    client.force_login(admin)
    case = TestCase.objects.create(profile=profile, name="printer", raw_message=mail().decode())
    url = reverse("admin:profiles_testcase_changelist")
    form = {"_selected_action": [case.pk], "index": 0, "select_across": 0}
    response = client.post(url, {"action": "dry_run", **form}, follow=True)
    assert "Printer: created — would create an issue in SUP (dry run)" in response.content.decode()
    assert Issue.objects.count() == 0
    case.refresh_from_db()
    assert case.last_run_report["dry_run"] is True
    page = client.get(reverse("admin:profiles_testcase_change", args=[case.pk])).content.decode()
    assert "would create an issue in SUP" in page
    client.post(url, {"action": "real_run", **form}, follow=True)
    assert Issue.objects.count() == 1
