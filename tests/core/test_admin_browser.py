"""The admin, in a real headless Chromium."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.django_db(transaction=True)
def test_admin_login_in_chromium(live_server, page) -> None:
    get_user_model().objects.create_superuser("root", "root@example.test", "s3cret-Pass-42")
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "root")
    page.fill("#id_password", "wrong-password")
    page.click("input[type=submit]")
    assert "Please enter the correct username and password" in page.content()
    page.fill("#id_username", "root")
    page.fill("#id_password", "s3cret-Pass-42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#site-name").inner_text() == "JEMH mail handler"
    assert page.get_by_role("link", name="Instances").count() == 1
