"""IMAP and POP3 sources signing in with XOAUTH2 and OAUTHBEARER: Dovecot's oauth2 passdb validates the
tokens itself (HS256 JWTs), so these tests need no provider; refresh and revocation are in test_oauth_cycle."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from imapclient import IMAPClient

from inbound.models import AuthMethod, InboundMessage, SaslMechanism, Security, Source, SourceKind
from inbound.retrieval import check_connection, poll
from jemh.models import OAuthApp, OAuthProvider
from tests.inbound.conftest import make_message
from tests.services.oidc import make_jwt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _mailbox(dovecot_jwt: Any) -> tuple[str, str]:
    """A mailbox user of the JWT Dovecot (also given a password, for putting mail in)."""
    email, password = f"j{uuid.uuid4().hex[:10]}@example.test", "pw-" + uuid.uuid4().hex[:8]
    dovecot_jwt.add_user(email, password)
    deadline = time.monotonic() + 10
    while True:
        try:
            with IMAPClient(dovecot_jwt.host, port=dovecot_jwt.imap_port, ssl=False, timeout=10) as client:
                client.login(email, password)
                client.append("INBOX", make_message(subject=f"hello {email}"))
            return email, password
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _source(instance: Any, dovecot_jwt: Any, kind: str, mechanism: str, email: str, token: str) -> Source:
    OAuthApp.objects.get_or_create(
        instance=instance,
        provider=OAuthProvider.GOOGLE,
        defaults={
            "client_id": "jemh-test",
            "client_secret": "s",
            "issuer_url": "http://127.0.0.1:9/",
        },  # nothing listens
    )
    source = Source(
        instance=instance,
        name=f"{kind}-{mechanism}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        host=dovecot_jwt.host,
        port=dovecot_jwt.imap_port if kind == SourceKind.IMAP else dovecot_jwt.pop3_port,
        security=Security.NONE,
        auth_method=AuthMethod.OAUTH2,
        oauth_provider=OAuthProvider.GOOGLE,
        sasl_mechanism=mechanism,
    )
    source.full_clean()
    source.save()
    Source.objects.filter(pk=source.pk).update(
        oauth_access_token=token,
        oauth_refresh_token="unused-refresh",
        oauth_token_expires_at=timezone.now() + timedelta(hours=1),
        oauth_account=email,
    )
    return Source.objects.get(pk=source.pk)


@pytest.mark.parametrize("kind", [SourceKind.IMAP, SourceKind.POP3])
@pytest.mark.parametrize("mechanism", [SaslMechanism.XOAUTH2, SaslMechanism.OAUTHBEARER])
def test_capture_with_a_locally_validated_token(instance: Any, dovecot_jwt: Any, kind: str, mechanism: str) -> None:
    email, _ = _mailbox(dovecot_jwt)
    source = _source(instance, dovecot_jwt, kind, mechanism, email, make_jwt(email))
    ok, said = check_connection(source)
    assert ok, said
    result = poll(source.pk, force=True)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert InboundMessage.objects.filter(source=source).count() == 1


def test_a_token_of_another_issuer_is_refused(instance: Any, dovecot_jwt: Any) -> None:
    email, _ = _mailbox(dovecot_jwt)
    source = _source(
        instance,
        dovecot_jwt,
        SourceKind.IMAP,
        SaslMechanism.XOAUTH2,
        email,
        make_jwt(email, issuer="https://evil.test"),
    )
    # The server refuses it; the refresh that follows fails at the (unreachable) provider: a temporary failure.
    result = poll(source.pk, force=True)
    assert result.status == "failed"
    assert "refresh" in result.detail and InboundMessage.objects.filter(source=source).count() == 0
