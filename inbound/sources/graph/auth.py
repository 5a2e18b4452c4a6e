"""Who a Microsoft Graph source reads the mailbox as: the one place a source's Graph token comes from.

Today that is the app itself (client credentials of the instance's Microsoft OAuth app, application permission
``Mail.ReadWrite``, the mailbox named on the source). A source signed in as a user (delegated: a refresh token
stored on it) takes its token from the OAuth sign-in instead: that switch is :func:`graph_token`, and only it.
"""

from __future__ import annotations

from inbound.models import Source
from inbound.sources.base import SourceError
from jemh.models import OAuthApp, OAuthProvider
from jemh.msgraph.client import GraphClient
from jemh.msgraph.tokens import TokenError, app_token


def microsoft_app(instance_id: int) -> OAuthApp:
    app = OAuthApp.objects.filter(instance_id=instance_id, provider=OAuthProvider.MICROSOFT).first()
    if app is None:
        raise SourceError("the instance has no Microsoft OAuth app: configure its client id, secret and tenant first")
    return app


def graph_token(source: Source, *, fresh: bool = False) -> str:
    """An access token for Graph to read ``source``'s mailbox (``fresh``: not the cached one, which Graph refused)."""
    if source.oauth_refresh_token:  # signed in as a user (delegated): the OAuth sign-in's token
        raise SourceError("a Microsoft Graph source signed in as a user is not supported yet; use app-only access")
    try:
        return app_token(microsoft_app(source.instance_id), fresh=fresh)
    except TokenError as exc:
        raise SourceError(f"no token for Microsoft Graph: {exc}") from exc


def graph_client(source: Source) -> GraphClient:
    """A Graph client reading as ``source``'s identity."""
    return GraphClient(lambda fresh: graph_token(source, fresh=fresh))
