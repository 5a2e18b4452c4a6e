"""The OAuth connection of a source: its tokens (stored encrypted, never shown), refreshed before they expire
and when the server refuses them, and what happens when the provider refuses the refresh token.

``access_token(source)`` is the one way to get a token for a source's mailbox (IMAP, POP3, SMTP, and later
Graph). A refused refresh token (revoked, expired) clears the stored tokens and raises a ``SourceError`` that
says "sign in again" with a link to the source, which puts the source into the health/back-off path like any
failing mailbox; the instance's admins are told by mail once per connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from inbound import health
from inbound.models import SaslMechanism, Source
from inbound.sources.base import SourceError
from jemh import oauth
from jemh.models import OAuthApp

log = logging.getLogger(__name__)


class TokenUnavailable(SourceError):
    """No access token could be had (the provider refused or was unreachable): logging in again will not help."""


class SignInRequired(TokenUnavailable):
    """The provider refused the stored sign-in: someone must sign in again on the source."""


REFRESH_MARGIN = timedelta(minutes=5)  # a token this close to expiring is refreshed before use
TOKEN_FIELDS = [
    "oauth_access_token",
    "oauth_refresh_token",
    "oauth_token_expires_at",
    "oauth_account",
    "oauth_connected_at",
    "oauth_refreshed_at",
]


#: The scopes a kind of source signs in with, where they are not the provider's mailbox scopes (IMAP, POP, SMTP):
#: a Microsoft Graph source adds its kind here with Graph's scopes.
SCOPES_BY_KIND: dict[str, tuple[str, ...]] = {}


def scopes_for(source: Source) -> tuple[str, ...]:
    """The scopes the source signs in and refreshes with (empty: the provider's mailbox scopes)."""
    return SCOPES_BY_KIND.get(source.kind, ())


def oauth_app(source: Source) -> OAuthApp:
    """The instance's OAuth app the source signs in through."""
    provider = source.effective_oauth_provider
    app = OAuthApp.objects.filter(instance_id=source.instance_id, provider=provider).first()
    if app is None:
        raise TokenUnavailable(
            f"the instance has no {provider or 'OAuth'} app: add one under OAuth apps (client id and secret), "
            "then sign in on the source"
        )
    return app


def source_admin_url(source: Source) -> str:
    """The source's admin page (absolute when JEMH_SITE_URL is set): where someone signs in again."""
    path = reverse("admin:inbound_source_change", args=[source.pk])
    base = getattr(settings, "JEMH_SITE_URL", "")
    return f"{base.rstrip('/')}{path}" if base else path


def connect(source: Source, tokens: oauth.TokenSet) -> None:
    """Store a fresh sign-in's tokens on the source (and forget its past failures)."""
    now = timezone.now()
    source.oauth_access_token = tokens.access_token
    source.oauth_refresh_token = tokens.refresh_token
    source.oauth_token_expires_at = tokens.expires_at
    source.oauth_account = tokens.account
    source.oauth_connected_at = source.oauth_refreshed_at = now
    source.save(update_fields=TOKEN_FIELDS)
    health.reset(source)
    log.info("source %s connected through OAuth", source.pk)


def access_token(source: Source, force_refresh: bool = False) -> str:
    """A valid access token for the source's mailbox, refreshed first when it expires within REFRESH_MARGIN
    (or when ``force_refresh``: the server refused the last one). Raises ``SourceError``: "sign in again" when
    the provider refused the refresh token, a temporary failure otherwise."""
    if not force_refresh and _fresh(source):
        return source.oauth_access_token
    app = oauth_app(source)
    with transaction.atomic():  # one refresh at a time: a provider may rotate (and so retire) refresh tokens
        current = Source.objects.select_for_update().get(pk=source.pk)
        if _fresh(current) and (not force_refresh or current.oauth_access_token != source.oauth_access_token):
            _copy_tokens(current, source)
            return source.oauth_access_token
        try:
            if current.app_only:
                tokens = oauth.app_only_token(app)
            elif not current.oauth_refresh_token:
                raise oauth.SignInAgain("no one has signed in on this source yet")
            else:
                tokens = oauth.refresh(app, current.oauth_refresh_token, scopes_for(current))
        except oauth.SignInAgain as exc:
            refused = exc
        except oauth.OAuthFailure as exc:
            raise TokenUnavailable(f"OAuth token refresh failed, will retry: {exc}") from exc
        else:
            current.oauth_access_token = tokens.access_token
            current.oauth_refresh_token = tokens.refresh_token if not current.app_only else ""
            current.oauth_token_expires_at = tokens.expires_at
            current.oauth_refreshed_at = timezone.now()
            current.oauth_account = current.oauth_account or tokens.account
            current.save(update_fields=TOKEN_FIELDS)
            _copy_tokens(current, source)
            log.info("source %s: OAuth access token refreshed", source.pk)
            return source.oauth_access_token
        had_connection = bool(current.oauth_refresh_token)
        current.oauth_access_token = current.oauth_refresh_token = ""
        current.oauth_token_expires_at = None
        current.save(update_fields=TOKEN_FIELDS)
        _copy_tokens(current, source)
    if current.app_only:
        message = (
            f"sign in again: {refused} Check the instance's {source.oauth_provider_name} OAuth app (its client secret "
            f"and the administrator's consent to its mail permissions), then test {source_admin_url(source)}."
        )
    else:
        message = (
            f"sign in again: {refused} Open {source_admin_url(source)} and use "
            f'"Connect with {source.oauth_provider_name}".'
        )
    if had_connection or current.app_only:
        transaction.on_commit(lambda: health.notify_admins_sign_in_again(source, message))
    raise SignInRequired(message)


def sign_in(source: Source, login: Callable[[str, str], None]) -> None:
    """Log in with the source's token through ``login(user, token)``; when the server refuses it (servers answer
    a stale token with a temporary failure as often as with a refusal), refresh the token and try once more."""
    user = source.login_name
    try:
        login(user, access_token(source))
    except TokenUnavailable:
        raise
    except SourceError:
        log.info("source %s: the server refused the OAuth token; refreshing it and trying again", source.pk)
        login(user, access_token(source, force_refresh=True))


def sasl_initial_response(source: Source, user: str, token: str) -> bytes:
    """The SASL initial response of the source's mechanism (XOAUTH2 or OAUTHBEARER, RFC 7628)."""
    if source.sasl_mechanism == SaslMechanism.OAUTHBEARER:
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={authzid},\x01auth=Bearer {token}\x01\x01".encode()
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def _fresh(source: Source) -> bool:
    expires = source.oauth_token_expires_at
    return bool(source.oauth_access_token) and expires is not None and expires - REFRESH_MARGIN > timezone.now()


def _copy_tokens(origin: Source, target: Source) -> None:
    for name in TOKEN_FIELDS:
        setattr(target, name, getattr(origin, name))
