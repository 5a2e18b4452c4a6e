"""Admin sign-in is throttled (issue 14): a password guesser is locked out per user name and per client address
(django-axes), and a superuser can unlock, from the admin or the command line."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jemh.signin import client_address

pytestmark = pytest.mark.django_db
PASSWORD = "s3cret-Pass-42"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # hashing costs ~1 s otherwise
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


@pytest.fixture()
def alice(db: None) -> Any:
    return get_user_model().objects.create_superuser("alice", "alice@example.org", PASSWORD)


def sign_in(username: str, password: str, address: str = "192.0.2.10", forwarded_for: str = "") -> Any:
    """A fresh browser's sign-in attempt from ``address`` (through a proxy when ``forwarded_for`` is given): the
    response (302 signed in, 200 refused, 429 locked out)."""
    meta = {"REMOTE_ADDR": address, **({"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {})}
    return Client().post(LOGIN, {"username": username, "password": password}, **meta)  # type: ignore[arg-type]


def test_a_brute_force_on_one_account_is_locked_out_even_with_the_right_password_then(alice) -> None:
    for guess in range(4):
        assert sign_in("alice", f"guess-{guess}", address=f"198.51.100.{guess}").status_code == 200
    assert sign_in("alice", "guess-4", address="198.51.100.4").status_code == 429  # the fifth failure locks
    locked = sign_in("alice", PASSWORD, address="198.51.100.99")  # from anywhere: the user name is locked
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session


def test_one_address_guessing_many_accounts_is_locked_out(alice) -> None:
    get_user_model().objects.create_superuser("bob", "bob@example.org", PASSWORD)
    for name in ("carol", "dan", "erin", "frank"):  # the guesser rotates user names
        assert sign_in(name, "123456", address="203.0.113.7").status_code == 200
    assert sign_in("grace", "123456", address="203.0.113.7").status_code == 429
    assert sign_in("bob", PASSWORD, address="203.0.113.7").status_code == 429
    assert sign_in("bob", PASSWORD, address="203.0.113.8").status_code == 302  # another address is not locked


def test_a_success_before_the_limit_forgets_the_failures(alice) -> None:
    for _ in range(4):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD).status_code == 302
    for _ in range(4):
        assert sign_in("alice", "wrong").status_code == 200  # counting started again
    assert sign_in("alice", PASSWORD).status_code == 302


def test_a_superuser_unlocks_with_the_command(alice) -> None:
    for _ in range(5):
        sign_in("alice", "wrong", address="198.51.100.1")
    assert sign_in("alice", PASSWORD, address="198.51.100.2").status_code == 429
    call_command("axes_reset_username", "alice")
    call_command("axes_reset_ip", "198.51.100.1")
    assert sign_in("alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_a_superuser_unlocks_from_the_admin(alice) -> None:
    for _ in range(5):
        sign_in("alice", "wrong", address="198.51.100.1")
    assert sign_in("alice", PASSWORD, address="198.51.100.3").status_code == 429
    root = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(root)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    confirmed = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert confirmed.status_code == 302 and not AccessAttempt.objects.exists()
    assert sign_in("alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_added(alice, settings, rf) -> None:
    settings.JEMH_BEHIND_PROXY = True
    request = rf.post(LOGIN, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.5")
    assert client_address(request) == "198.51.100.5"  # the client's own "1.2.3.4" is not believed
    for _ in range(5):  # the guesser forges a new X-Forwarded-For each time: still one address to our proxy
        sign_in("nobody", "x", address="10.0.0.1", forwarded_for=f"7.7.7.{_}, 198.51.100.5")
    assert sign_in("alice", PASSWORD, address="10.0.0.1", forwarded_for="198.51.100.5").status_code == 429
    assert sign_in("alice", PASSWORD, address="10.0.0.1", forwarded_for="198.51.100.6").status_code == 302
    settings.JEMH_BEHIND_PROXY = False
    assert client_address(request) == "10.0.0.1"
