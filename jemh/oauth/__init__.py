"""OAuth 2.0 for mailboxes: the provider's endpoints, the authorization-code flow with PKCE, refresh and the
Microsoft app-only (client-credentials) grant. Works on an ``OAuthApp`` and token strings; storing tokens is
the business of whoever holds them (``inbound.oauth`` for a source)."""

from jemh.oauth.providers import Endpoints, endpoints
from jemh.oauth.tokens import (
    Authorization,
    OAuthFailure,
    SignInAgain,
    TokenSet,
    app_only_token,
    finish_authorization,
    refresh,
    start_authorization,
)

__all__ = [
    "Authorization",
    "Endpoints",
    "OAuthFailure",
    "SignInAgain",
    "TokenSet",
    "app_only_token",
    "endpoints",
    "finish_authorization",
    "refresh",
    "start_authorization",
]
