"""Microsoft app-only access to a shared mailbox over IMAP (XOAUTH2; IMAP.AccessAsApp): the token comes from the
fake Microsoft identity provider through msal's client-credentials request, and is a JWT that Dovecot's oauth2
passdb validates itself (the ``dovecot_jwt`` key and issuer); the mailbox is the source's user name."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imapclient import IMAPClient

from inbound.models import AuthMethod, InboundMessage, SaslMechanism, Security, Source, SourceKind
from inbound.retrieval import poll
from jemh.models import OAuthApp, OAuthProvider
from jemh.oauth.providers import MICROSOFT_APP_ONLY_SCOPE
from notifications.models import OutboundMessage
from tests.inbound.conftest import make_message
from tests.inbound.fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT
from tests.services.oidc import make_jwt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


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


def _minting(*makers: Callable[[], str]) -> Callable[[], str]:
    """The fake provider's tokens: one maker per request, the last one for every request after."""
    queue: Iterator[Callable[[], str]] = iter(makers)
    last = makers[-1]

    def mint() -> str:
        return next(queue, last)()

    return mint


@pytest.fixture()
def shared_mailbox(dovecot_jwt: Any) -> tuple[str, str]:
    """A shared mailbox of the JWT Dovecot with one message (its password is only for putting mail in)."""
    email, password = f"shared-{uuid.uuid4().hex[:10]}@contoso.test", "pw-" + uuid.uuid4().hex[:8]
    dovecot_jwt.add_user(email, password)
    _put_mail(dovecot_jwt, email, password, "first")
    return email, password


def _app_only_source(instance: Any, dovecot_jwt: Any, identity: Any, email: str, secret: str = CLIENT_SECRET) -> Source:
    OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.MICROSOFT,
        client_id=CLIENT_ID,
        client_secret=secret,
        tenant=TENANT,
        issuer_url=identity.issuer,
    )
    source = Source(
        instance=instance,
        name=f"shared-{uuid.uuid4().hex[:6]}",
        kind=SourceKind.IMAP,
        host=dovecot_jwt.host,
        port=dovecot_jwt.imap_port,
        security=Security.NONE,
        auth_method=AuthMethod.OAUTH2_APP,
        oauth_provider=OAuthProvider.MICROSOFT,
        sasl_mechanism=SaslMechanism.XOAUTH2,
        username=email,
    )
    source.full_clean()
    source.save()
    return source


def test_app_only_capture_fetches_a_client_credentials_token_once_and_reuses_it(
    instance: Any, dovecot_jwt: Any, microsoft: Any, shared_mailbox: tuple[str, str]
) -> None:
    identity, _ = microsoft
    email, password = shared_mailbox
    identity.mint = lambda: make_jwt(email)
    source = _app_only_source(instance, dovecot_jwt, identity, email)

    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert InboundMessage.objects.filter(source=source).count() == 1
    assert identity.token_forms == [
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": MICROSOFT_APP_ONLY_SCOPE,
        }
    ]
    stored = Source.objects.get(pk=source.pk)
    assert stored.oauth_access_token == identity.issued[0] and not stored.oauth_refresh_token

    _put_mail(dovecot_jwt, email, password, "second")
    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert InboundMessage.objects.filter(source=source).count() == 2
    assert identity.token_requests == 1, "the second poll logs in with the stored token"


def test_a_refused_app_only_token_is_replaced_once_and_the_login_retried(
    instance: Any, dovecot_jwt: Any, microsoft: Any, shared_mailbox: tuple[str, str]
) -> None:
    identity, _ = microsoft
    email, _ = shared_mailbox
    # The first token is signed with a key Dovecot does not know: AUTHENTICATIONFAILED.
    identity.mint = _minting(lambda: make_jwt(email, secret=b"not-the-key-dovecot-trusts"), lambda: make_jwt(email))
    source = _app_only_source(instance, dovecot_jwt, identity, email)

    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert identity.token_requests == 2, "exactly one new token after the refusal"
    assert Source.objects.get(pk=source.pk).oauth_access_token == identity.issued[1]
    assert InboundMessage.objects.filter(source=source).count() == 1


def test_a_wrong_client_secret_backs_off_says_what_to_check_and_alerts_once(
    instance: Any, dovecot_jwt: Any, microsoft: Any, shared_mailbox: tuple[str, str], django_user_model: Any
) -> None:
    identity, _ = microsoft
    email, _ = shared_mailbox
    identity.mint = lambda: make_jwt(email)
    instance.admins.add(django_user_model.objects.create_user("ops", "ops@example.test"))
    source = _app_only_source(instance, dovecot_jwt, identity, email, secret="not-the-secret")

    for _ in range(2):
        result = poll(source.pk, force=True)
        assert result.status == "failed", result.detail
        assert "invalid_client" in result.detail and "client secret" in result.detail, result.detail
    source.refresh_from_db()
    assert "client secret" in source.last_error and f"/admin/inbound/source/{source.pk}/change/" in source.last_error
    assert source.consecutive_failures == 2 and source.next_poll_at is not None  # the back-off path
    assert identity.issued == [] and InboundMessage.objects.filter(source=source).count() == 0
    alerts = OutboundMessage.objects.filter(kind="alert", instance=instance)
    assert alerts.count() == 1, "the admins are told once"
    assert alerts.get().recipients == ["ops@example.test"]
