"""The OAuth parts of the admin and of the source model: the sign-in's state check, the OAuth app's page, the
source form's rules, and refreshing a token before it expires."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from inbound.models import AuthMethod, Security, Source, SourceKind
from inbound.sources.oauth import access_token
from jemh.models import OAuthApp, OAuthProvider
from tests.services.oidc import consent

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "client-secret-" + uuid.uuid4().hex


def _source(instance: Any, **fields: Any) -> Source:
    values: dict[str, Any] = {
        "instance": instance,
        "name": f"oauth-{uuid.uuid4().hex[:6]}",
        "kind": SourceKind.IMAP,
        "host": "127.0.0.1",
        "port": 9,
        "security": Security.NONE,
        "auth_method": AuthMethod.OAUTH2,
        "oauth_provider": OAuthProvider.GOOGLE,
        **fields,
    }
    source = Source(**values)
    source.full_clean()
    source.save()
    return source


@pytest.fixture()
def app(instance: Any, oidc_provider: Any) -> OAuthApp:
    return OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.GOOGLE,
        client_id="jemh-test",
        client_secret=SECRET,
        issuer_url=oidc_provider.issuer,
    )


@pytest.mark.services
def test_the_callback_refuses_a_state_it_did_not_start(admin_client: Any, instance: Any, app: OAuthApp) -> None:
    source = _source(instance)
    started = admin_client.get(reverse("admin:inbound_source_oauth_connect", args=[source.pk]))
    assert started.status_code == 302
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["state"]
    callback = reverse("admin:inbound_source_oauth_callback")
    forged = admin_client.get(callback, {"state": "forged-" + query["state"][0], "code": "attacker-code"})
    assert forged.status_code == 400
    source.refresh_from_db()
    assert not source.oauth_refresh_token and not source.oauth_account


@pytest.mark.services
def test_a_state_is_used_once(admin_client: Any, instance: Any, app: OAuthApp, oidc_provider: Any) -> None:
    source = _source(instance)
    email = f"a{uuid.uuid4().hex[:8]}@example.test"
    oidc_provider.add_user(email)
    started = admin_client.get(reverse("admin:inbound_source_oauth_connect", args=[source.pk]))
    back = urlsplit(consent(started["Location"], email))
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    first = admin_client.get(back.path, params)
    assert first.status_code == 302 and first["Location"].endswith(f"/inbound/source/{source.pk}/change/")
    source.refresh_from_db()
    assert source.oauth_account == email and source.oauth_refresh_token
    assert admin_client.get(back.path, params).status_code == 400  # replayed


def test_the_oauth_app_page_shows_the_redirect_url_and_never_the_secret(admin_client: Any, instance: Any) -> None:
    app = OAuthApp.objects.create(
        instance=instance, provider=OAuthProvider.MICROSOFT, client_id="c", client_secret=SECRET
    )
    page = admin_client.get(reverse("admin:jemh_oauthapp_change", args=[app.pk])).content.decode()
    assert "http://testserver/admin/inbound/source/oauth/callback/" in page
    assert SECRET not in page and '<span class="jemh-secret-state">set</span>' in page


def test_the_source_form_rules(instance: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        _source(instance, kind=SourceKind.GMAIL_OAUTH, auth_method=AuthMethod.PASSWORD, host="")
    assert "auth_method" in refused.value.message_dict
    gmail = _source(instance, kind=SourceKind.GMAIL_OAUTH, host="", port=None, oauth_provider="", security=Security.TLS)
    assert (gmail.effective_host, gmail.effective_port, gmail.effective_oauth_provider) == (
        "imap.gmail.com",
        993,
        OAuthProvider.GOOGLE,
    )
    with pytest.raises(ValidationError) as refused:
        _source(instance, auth_method=AuthMethod.OAUTH2_APP)  # Google has no app-only access
    assert "auth_method" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _source(instance, auth_method=AuthMethod.OAUTH2_APP, oauth_provider=OAuthProvider.MICROSOFT)
    assert "username" in refused.value.message_dict  # the shared mailbox's address
    with pytest.raises(ValidationError) as refused:
        _source(instance, auth_method=AuthMethod.PASSWORD, username="u", password="p", send_notifications=True)
    assert "send_notifications" in refused.value.message_dict


@pytest.mark.services
def test_a_token_is_refreshed_shortly_before_it_expires(instance: Any, app: OAuthApp, oidc_provider: Any) -> None:
    from inbound.sources.oauth import connect
    from jemh import oauth

    email = f"r{uuid.uuid4().hex[:8]}@example.test"
    oidc_provider.add_user(email)
    source = _source(instance)
    started = oauth.start_authorization(app, "http://jemh.test/cb")
    back = parse_qs(urlsplit(consent(started.url, email)).query)
    connect(source, oauth.finish_authorization(app, "http://jemh.test/cb", back["code"][0], started.code_verifier))
    source = Source.objects.get(pk=source.pk)
    token = source.oauth_access_token
    assert access_token(source) == token  # an hour left: used as it is
    Source.objects.filter(pk=source.pk).update(oauth_token_expires_at=timezone.now() + timedelta(minutes=2))
    source = Source.objects.get(pk=source.pk)
    fresh = access_token(source)
    assert fresh != token
    stored = Source.objects.get(pk=source.pk)
    assert stored.oauth_access_token == fresh and stored.oauth_token_expires_at > timezone.now() + timedelta(minutes=30)


def test_app_only_access_refused_says_sign_in_again_and_alerts_once(instance: Any, django_user_model: Any) -> None:
    from inbound.sources.oauth import SignInRequired
    from notifications.models import OutboundMessage

    instance.admins.add(django_user_model.objects.create_user("ops", "ops@example.test"))
    OAuthApp.objects.create(instance=instance, provider=OAuthProvider.MICROSOFT, client_id="c", tenant="contoso.test")
    source = _source(
        instance,
        kind=SourceKind.M365_OAUTH,
        host="",
        oauth_provider="",
        auth_method=AuthMethod.OAUTH2_APP,
        username="shared@contoso.test",
    )
    for _ in range(2):
        with pytest.raises(SignInRequired, match="sign in again") as refused:
            access_token(Source.objects.get(pk=source.pk))
    assert "client secret" in str(refused.value)
    assert OutboundMessage.objects.filter(instance=instance, kind="alert").count() == 1
