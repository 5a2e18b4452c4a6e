"""Admin sign-in: the client address django-axes counts failed sign-ins by (``AXES_CLIENT_IP_CALLABLE``).

Directly served, it is the connection's address. Behind the TLS-terminating proxy ``JEMH_BEHIND_PROXY`` names, every
connection comes from the proxy, so the address is the last one in ``X-Forwarded-For``: the one that proxy added
(earlier entries are whatever the client wrote, and a client choosing its own address would escape the limit).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The address a sign-in attempt came from, as our own proxy (if any) saw it."""
    if getattr(settings, "JEMH_BEHIND_PROXY", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR") or None
