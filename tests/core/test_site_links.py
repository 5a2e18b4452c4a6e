"""Where a newcomer lands: "View site" and the server's root lead to the admin's index (issue 19: they led to a
404), and a lost one-time password has a hint on the login page and in ``jemh bootstrap``."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client

from jemh.cli import bootstrap

pytestmark = pytest.mark.django_db


def test_view_site_and_the_root_lead_to_the_admin_index(admin_client: Client) -> None:
    index = admin_client.get("/admin/")
    assert admin.site.site_url == "/admin/"  # (set where the URLs are, once they are loaded)
    assert index.status_code == 200 and 'href="/admin/">View site</a>' in index.content.decode()
    root = Client().get("/")
    assert root.status_code == 302 and root["Location"] == "/admin/"


def test_login_page_says_how_to_set_a_lost_password() -> None:
    page = Client().get("/admin/login/").content.decode()
    assert "python manage.py changepassword USERNAME" in page


def test_bootstrap_says_how_to_set_a_lost_password() -> None:
    out = io.StringIO()
    assert bootstrap.run({"username": "admin", "email": "admin@localhost"}, out, io.StringIO()) == 0
    assert "One-time password:" in out.getvalue() and "python manage.py changepassword admin" in out.getvalue()
    again = io.StringIO()
    bootstrap.run({"username": "other", "email": "x@localhost"}, again, io.StringIO())
    assert "already exists" in again.getvalue() and "python manage.py changepassword admin" in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
