"""Where a provider's OAuth endpoints are, and which scopes a mailbox asks for.

Google and Microsoft have well-known endpoints (Microsoft's per tenant: a directory id or domain, or
``organizations``); an app with an ``issuer_url`` (a private or test identity provider) reads them from the
issuer's OpenID discovery document.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from jemh.models import OAuthApp, OAuthProvider

TIMEOUT = 20.0
DISCOVERY_TTL = 3600.0

GOOGLE_SCOPES = ("openid", "email", "https://mail.google.com/")
MICROSOFT_SCOPES = (
    "openid",
    "email",
    "offline_access",
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/POP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
)
# App-only access (IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp granted to the app by an administrator).
MICROSOFT_APP_ONLY_SCOPE = "https://outlook.office365.com/.default"
# A private identity provider is asked for what OpenID Connect defines; the mailbox server decides the rest.
ISSUER_SCOPES = ("openid", "email")


class DiscoveryError(Exception):
    """The issuer's discovery document could not be read."""


@dataclass(frozen=True)
class Endpoints:
    """An app's provider endpoints and the scopes a mailbox sign-in asks for."""

    authorize: str
    token: str
    userinfo: str
    scopes: tuple[str, ...]
    #: extra parameters of the authorization request (Google gives a refresh token only when asked offline)
    authorize_params: tuple[tuple[str, str], ...] = ()


_discovered: dict[str, tuple[float, dict[str, str]]] = {}
_lock = threading.Lock()


def _discover(issuer_url: str) -> dict[str, str]:
    url = issuer_url.rstrip("/") + "/.well-known/openid-configuration"
    with _lock:
        cached = _discovered.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    try:
        response = httpx.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        document = dict(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise DiscoveryError(f"cannot read the discovery document at {url}: {exc}") from exc
    with _lock:
        _discovered[url] = (time.monotonic() + DISCOVERY_TTL, document)
    return document


def endpoints(app: OAuthApp) -> Endpoints:
    """The endpoints ``app`` signs in through."""
    if app.issuer_url:
        document = _discover(app.issuer_url)
        return Endpoints(
            authorize=document["authorization_endpoint"],
            token=document["token_endpoint"],
            userinfo=document.get("userinfo_endpoint", ""),
            scopes=ISSUER_SCOPES,
        )
    if app.provider == OAuthProvider.GOOGLE:
        return Endpoints(
            authorize="https://accounts.google.com/o/oauth2/v2/auth",
            token="https://oauth2.googleapis.com/token",
            userinfo="https://openidconnect.googleapis.com/v1/userinfo",
            scopes=GOOGLE_SCOPES,
            authorize_params=(("access_type", "offline"), ("prompt", "consent")),
        )
    base = f"https://login.microsoftonline.com/{app.tenant or 'organizations'}/oauth2/v2.0"
    return Endpoints(
        authorize=f"{base}/authorize",
        token=f"{base}/token",
        userinfo="https://graph.microsoft.com/oidc/userinfo",
        scopes=MICROSOFT_SCOPES,
        authorize_params=(("prompt", "select_account"),),
    )


def microsoft_authority(app: OAuthApp) -> str:
    """The msal authority of a Microsoft app (app-only access needs a real tenant, not 'organizations')."""
    return f"https://login.microsoftonline.com/{app.tenant or 'organizations'}"
