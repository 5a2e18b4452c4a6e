"""The whole OAuth life of a mailbox, through real servers: consent in the admin (Chromium, the fake OpenID
provider's consent page) → capture over IMAP (XOAUTH2, OAUTHBEARER) or POP3 → a forced refresh → capture again →
the grant revoked at the provider → the source reports "sign in again" (with a link) and the admins get one alert.
Dovecot checks every token at the provider (introspection), so a revoked token really stops working."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from imapclient import IMAPClient

from inbound.models import AuthMethod, InboundMessage, SaslMechanism, Security, Source, SourceKind
from inbound.retrieval import poll
from inbound.sources.oauth import access_token
from jemh.models import OAuthApp, OAuthProvider
from notifications.models import OutboundMessage
from tests.inbound.conftest import make_message
from tests.privacy.test_logs import debug_log

__all__ = ["debug_log"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CLIENT_SECRET = "client-secret-" + uuid.uuid4().hex


def _put_mail(dovecot: Any, email: str, password: str, subject: str) -> None:
    deadline = time.monotonic() + 10
    while True:  # Dovecot re-reads its users file at most once a second
        try:
            with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10) as client:
                client.login(email, password)
                client.append("INBOX", make_message(subject=subject))
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# The fake provider (an authlib server) logs the tokens it issues at DEBUG: its lines are not ours to scan.
FAKE_PROVIDER_LOGGERS = (" authlib.oauth2.rfc6749.grants", " authlib.oidc.core", " oidc_provider_mock")


def line_of_the_fake_provider(line: str) -> bool:
    return any(name in line for name in FAKE_PROVIDER_LOGGERS)


def _sign_in_admin(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "s3cret-Pass-42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.mark.parametrize(
    "kind, mechanism",
    [
        (SourceKind.IMAP, SaslMechanism.XOAUTH2),
        (SourceKind.IMAP, SaslMechanism.OAUTHBEARER),
        (SourceKind.POP3, SaslMechanism.XOAUTH2),
    ],
)
def test_consent_capture_refresh_revoke(
    live_server: Any,
    page: Any,
    dovecot_oauth: Any,
    oidc_provider: Any,
    instance: Any,
    debug_log: io.StringIO,
    kind: str,
    mechanism: str,
) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.test", "s3cret-Pass-42")
    instance.admins.add(root)
    email, password = f"o{uuid.uuid4().hex[:10]}@example.test", "pw-" + uuid.uuid4().hex[:8]
    oidc_provider.add_user(email)
    dovecot_oauth.add_user(email, password)
    _put_mail(dovecot_oauth, email, password, "first")
    OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.GOOGLE,
        client_id="jemh-test",
        client_secret=CLIENT_SECRET,
        issuer_url=oidc_provider.issuer,
    )
    source = Source(
        instance=instance,
        name=f"support-{kind}-{mechanism}",
        kind=kind,
        host=dovecot_oauth.host,
        port=dovecot_oauth.imap_port if kind == SourceKind.IMAP else dovecot_oauth.pop3_port,
        security=Security.NONE,
        auth_method=AuthMethod.OAUTH2,
        oauth_provider=OAuthProvider.GOOGLE,
        sasl_mechanism=mechanism,
    )
    source.full_clean()
    source.save()

    # Consent, in the browser: our admin → the provider's consent page → back to our admin.
    _sign_in_admin(page, live_server)
    page.goto(f"{live_server.url}/admin/inbound/source/{source.pk}/change/")
    assert "Not connected" in page.content()
    page.get_by_role("link", name="Connect with Google").click()
    page.wait_for_url(f"{oidc_provider.issuer}/oauth2/authorize*")
    page.fill("input[name=sub]", email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server.url}/admin/inbound/source/{source.pk}/change/")
    assert f"Connected to the mailbox of {email}" in page.content()
    source.refresh_from_db()
    assert source.oauth_account == email and source.oauth_refresh_token and source.oauth_refreshed_at
    first_token, refresh_token = source.oauth_access_token, source.oauth_refresh_token
    page_text = page.content()
    assert first_token not in page_text and refresh_token not in page_text and CLIENT_SECRET not in page_text

    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail

    # A forced refresh gives a new token, which logs in too.
    refreshed = access_token(Source.objects.get(pk=source.pk), force_refresh=True)
    assert refreshed != first_token
    _put_mail(dovecot_oauth, email, password, "second")
    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert InboundMessage.objects.filter(source=source).count() == 2

    if mechanism == SaslMechanism.XOAUTH2:  # (once per protocol: a refused login costs seconds of Dovecot's penalty)
        # A token the server refuses (Dovecot: "Temporary authentication failure") is refreshed and tried again.
        Source.objects.filter(pk=source.pk).update(oauth_access_token="stale-" + uuid.uuid4().hex)
        _put_mail(dovecot_oauth, email, password, "third")
        result = poll(source.pk, force=True)
        assert (result.status, result.captured) == ("ok", 1), result.detail
        assert not Source.objects.get(pk=source.pk).oauth_access_token.startswith("stale-")

    # Revoked at the provider: the server refuses the token, the refresh is refused: "sign in again".
    oidc_provider.revoke(email)
    for _ in range(2):
        result = poll(source.pk, force=True)
        assert result.status == "failed" and "sign in again" in result.detail, result.detail
    source.refresh_from_db()
    assert "sign in again" in source.last_error and f"/admin/inbound/source/{source.pk}/change/" in source.last_error
    assert source.consecutive_failures == 2 and source.next_poll_at is not None  # the back-off path
    assert not source.oauth_refresh_token and not source.oauth_access_token
    alerts = OutboundMessage.objects.filter(kind="alert", instance=instance)
    assert alerts.count() == 1, "the admins are told once"
    assert "sign in again" in alerts.get().subject and alerts.get().recipients == ["root@example.test"]
    page.goto(f"{live_server.url}/admin/inbound/source/{source.pk}/change/")
    assert "Not connected" in page.content() and "sign in again" in page.content()

    logged = "\n".join(line for line in debug_log.getvalue().splitlines() if not line_of_the_fake_provider(line))
    for secret in (first_token, refreshed, refresh_token, CLIENT_SECRET):
        assert secret not in logged
