"""Tokens from a provider: the authorization-code flow with PKCE and a checked ``state``, refresh, and the
Microsoft app-only grant. Nothing here stores a token or writes one to a log.

A refused refresh token (``invalid_grant``: revoked, expired, the password changed) raises :class:`SignInAgain`:
only a person signing in again can fix it. Everything else (the provider unreachable, a 5xx) is an
:class:`OAuthFailure`, worth another try later.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from django.utils import timezone

from jemh.models import OAuthApp
from jemh.oauth.providers import MICROSOFT_APP_ONLY_SCOPE, DiscoveryError, endpoints, microsoft_authority

TIMEOUT = 20.0
DEFAULT_LIFETIME = timedelta(hours=1)  # when a provider does not say how long a token lives


class OAuthFailure(Exception):
    """The provider could not give a token now (unreachable, an error answer); worth another try."""


class SignInAgain(OAuthFailure):
    """The provider refused the refresh token (revoked or expired): someone must sign in again."""


@dataclass(frozen=True)
class Authorization:
    """A started sign-in: the provider's URL to send the browser to, and what the callback must check and send."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class TokenSet:
    """Tokens the provider gave, and whose mailbox they open (from the id_token or the userinfo endpoint)."""

    access_token: str
    expires_at: datetime
    refresh_token: str = ""
    account: str = ""

    def __repr__(self) -> str:  # never a token in a traceback or a log line
        return f"TokenSet(account={self.account!r}, expires_at={self.expires_at!r})"


def _client(app: OAuthApp, redirect_uri: str = "") -> OAuth2Session:
    return OAuth2Session(
        client_id=app.client_id,
        client_secret=app.client_secret or None,
        redirect_uri=redirect_uri or None,
        code_challenge_method="S256",
    )


def start_authorization(app: OAuthApp, redirect_uri: str, scopes: tuple[str, ...] = ()) -> Authorization:
    """The provider's sign-in URL, with a fresh ``state`` and a PKCE challenge (RFC 7636, S256). ``scopes``
    replaces the provider's mailbox scopes (IMAP, POP, SMTP), e.g. with Microsoft Graph's."""
    try:
        ends = endpoints(app)
    except DiscoveryError as exc:
        raise OAuthFailure(str(exc)) from exc
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    with _client(app, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            ends.authorize,
            state=state,
            code_verifier=verifier,
            scope=" ".join(scopes or ends.scopes),
            **dict(ends.authorize_params),
        )
    return Authorization(url=url, state=state, code_verifier=verifier)


def state_matches(expected: str, received: str) -> bool:
    """Whether the callback's ``state`` is the one this sign-in sent (compared in constant time)."""
    return bool(expected) and hmac.compare_digest(expected.encode(), received.encode())


def finish_authorization(app: OAuthApp, redirect_uri: str, code: str, code_verifier: str) -> TokenSet:
    """Exchange the callback's code for tokens (sending the PKCE verifier)."""
    ends = _endpoints(app)
    with _client(app, redirect_uri) as client:
        token = _token_call(
            lambda: client.fetch_token(
                ends.token, grant_type="authorization_code", code=code, code_verifier=code_verifier, timeout=TIMEOUT
            )
        )
    tokens = _token_set(token, previous_refresh="")
    if not tokens.refresh_token:
        raise OAuthFailure("the provider gave no refresh token; check the app allows offline access")
    account = _account(token) or _userinfo_email(ends.userinfo, tokens.access_token)
    return TokenSet(tokens.access_token, tokens.expires_at, tokens.refresh_token, account)


def refresh(app: OAuthApp, refresh_token: str, scopes: tuple[str, ...] = ()) -> TokenSet:
    """A new access token (and the provider's new refresh token, if it rotates them); ``scopes`` as signed in
    with (none: what the sign-in granted)."""
    ends = _endpoints(app)
    extra = {"scope": " ".join(scopes)} if scopes else {}
    with _client(app) as client:
        token = _token_call(
            lambda: client.refresh_token(ends.token, refresh_token=refresh_token, timeout=TIMEOUT, **extra)
        )
    return _token_set(token, previous_refresh=refresh_token)


def app_only_token(app: OAuthApp) -> TokenSet:
    """An app-only access token (client credentials, through msal) for Microsoft's IMAP.AccessAsApp /
    SMTP.SendAsApp: from ``login.microsoftonline.com/<tenant>``, or from the app's ``issuer_url`` (a private or
    test identity provider, read through its OpenID discovery document; msal takes https only).

    A new msal application each time: the source stores the token, and a refused one must not come back from
    msal's cache. ``invalid_client`` / ``unauthorized_client`` (wrong secret, no consent) raise
    :class:`SignInAgain`; an unreachable provider an :class:`OAuthFailure`."""
    if not app.client_secret:
        raise SignInAgain("app-only access needs the app's client secret; set it on the OAuth app")
    import msal  # only app-only access needs it

    options: dict[str, Any] = {"client_credential": app.client_secret, "timeout": TIMEOUT}
    if app.issuer_url:
        options["oidc_authority"] = app.issuer_url.rstrip("/")
    elif app.tenant:
        options["authority"] = microsoft_authority(app)
    else:  # Microsoft grants app-only tokens from a tenant's authority only, never from 'organizations'
        raise SignInAgain("app-only access needs the directory (tenant) id or domain on the Microsoft OAuth app")
    try:
        result: Any = msal.ConfidentialClientApplication(app.client_id, **options).acquire_token_for_client(
            scopes=[MICROSOFT_APP_ONLY_SCOPE]
        )
    except ValueError as exc:  # an authority msal refuses (not https, no tenant in the path)
        raise SignInAgain(f"the identity provider's address is not usable: {exc}") from exc
    except Exception as exc:  # discovery or the token endpoint could not be reached
        raise OAuthFailure(f"the provider could not be reached ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(result, dict) or "access_token" not in result:
        found = result if isinstance(result, dict) else {}
        error = str(found.get("error", "error"))
        described = str(found.get("error_description") or "").strip()
        text = f"{error}: {described.splitlines()[0]}" if described else error
        raise (SignInAgain if error in ("invalid_client", "unauthorized_client") else OAuthFailure)(text)
    return _token_set(result, previous_refresh="")


def _endpoints(app: OAuthApp) -> Any:
    try:
        return endpoints(app)
    except DiscoveryError as exc:
        raise OAuthFailure(str(exc)) from exc


def _token_call(call: Any) -> dict[str, Any]:
    try:
        return dict(call())
    except OAuthError as exc:
        text = f"{exc.error}: {exc.description or ''}".strip().rstrip(":")
        if exc.error in ("invalid_grant", "interaction_required", "consent_required"):
            raise SignInAgain(f"the provider refused the sign-in ({text})") from exc
        raise OAuthFailure(f"the provider refused the token request ({text})") from exc
    except (requests.RequestException, ValueError) as exc:
        raise OAuthFailure(f"the provider could not be reached ({exc.__class__.__name__}: {exc})") from exc


def _token_set(token: dict[str, Any], previous_refresh: str) -> TokenSet:
    access = str(token.get("access_token") or "")
    if not access:
        raise OAuthFailure("the provider's answer held no access token")
    try:
        lifetime = timedelta(seconds=int(token.get("expires_in") or 0)) or DEFAULT_LIFETIME
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return TokenSet(
        access_token=access,
        expires_at=timezone.now() + lifetime,
        refresh_token=str(token.get("refresh_token") or previous_refresh),
        account=_account(token),
    )


def _account(token: dict[str, Any]) -> str:
    """The mailbox address in the id_token's claims. The id_token came straight from the token endpoint, so
    its claims are read without checking its signature (OpenID Connect Core 3.1.3.7)."""
    id_token = str(token.get("id_token") or "")
    parts = id_token.split(".")
    if len(parts) != 3:
        return ""
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return ""
    if not isinstance(claims, dict):
        return ""
    return str(claims.get("email") or claims.get("preferred_username") or claims.get("upn") or "")


def _userinfo_email(url: str, access_token: str) -> str:
    if not url:
        return ""
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)
        response.raise_for_status()
        return str(response.json().get("email") or "")
    except (requests.RequestException, ValueError, AttributeError):
        return ""
