"""App-only access tokens (OAuth 2.0 client credentials) for an instance's Microsoft OAuth app, through msal.

msal's ``ConfidentialClientApplication`` keeps the token it got in its in-memory cache and hands it out again until it
is about to expire; one application object is kept per app configuration and process. ``fresh=True`` drops the cached
token first (Graph answered 401 to it: revoked, or the app's permissions changed).

The authority is Microsoft's (``https://login.microsoftonline.com/<tenant>``) or, when the app names an
``issuer_url`` (a private or test identity provider), that OpenID provider (its discovery document at
``<issuer>/.well-known/openid-configuration``). msal accepts https authorities only; a private CA is trusted through
``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any
from urllib.parse import urlsplit

import msal
from django.conf import settings

from jemh.models import OAuthApp

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
TIMEOUT = 30

_apps: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


class TokenError(Exception):
    """No token could be had; the message says what the identity provider said and what to check."""


def graph_scope() -> str:
    """The ``.default`` scope of the configured Graph root (the permissions granted to the app)."""
    parts = urlsplit(settings.JEMH_GRAPH_URL)
    return f"{parts.scheme}://{parts.netloc}/.default"


def _application(app: OAuthApp) -> Any:
    secret_digest = hashlib.sha256(app.client_secret.encode()).hexdigest()
    key = (str(app.pk), app.client_id, app.tenant, app.issuer_url, secret_digest)
    with _lock:
        found = _apps.get(key)
        if found is not None:
            return found
        if not app.client_secret:
            raise TokenError("the Microsoft OAuth app has no client secret; app-only access needs one")
        options: dict[str, Any] = {"client_credential": app.client_secret, "timeout": TIMEOUT}
        if app.issuer_url:
            options["oidc_authority"] = app.issuer_url.rstrip("/")
        elif app.tenant:
            options["authority"] = f"{MICROSOFT_AUTHORITY}/{app.tenant}"
        else:
            raise TokenError("app-only access needs the directory (tenant) id or domain on the Microsoft OAuth app")
        try:
            created = msal.ConfidentialClientApplication(app.client_id, **options)
        except ValueError as exc:  # an authority msal refuses (not https, no tenant in the path)
            raise TokenError(f"the identity provider's address is not usable: {exc}") from exc
        except Exception as exc:  # discovery failed: unreachable, or not an OpenID provider
            raise TokenError(f"the identity provider could not be reached ({type(exc).__name__}: {exc})") from exc
        for stale in [k for k in _apps if k[0] == key[0]]:
            del _apps[stale]  # the app's configuration changed: forget the old application and its tokens
        _apps[key] = created
        return created


def app_token(app: OAuthApp, *, fresh: bool = False) -> str:
    """An access token for Graph as the app itself (client credentials); cached until it nearly expires."""
    application = _application(app)
    if fresh:
        application.remove_tokens_for_client()
    try:
        result = application.acquire_token_for_client(scopes=[graph_scope()])
    except Exception as exc:  # the token endpoint could not be reached
        raise TokenError(f"the identity provider could not be reached ({type(exc).__name__}: {exc})") from exc
    token = result.get("access_token") if isinstance(result, dict) else None
    if not token:
        error = result.get("error", "no token") if isinstance(result, dict) else "no answer"
        described = result.get("error_description", "") if isinstance(result, dict) else ""
        raise TokenError(
            f"the identity provider refused the app's credentials: {error}"
            + (f" ({described.splitlines()[0]})" if described else "")
            + "; check the client id, secret and tenant of the instance's Microsoft OAuth app"
        )
    return str(token)


def forget_tokens() -> None:
    """Drop every cached application and token (tests; a process that rotated secrets)."""
    with _lock:
        _apps.clear()
