"""The signature Jira puts on a webhook delivery that has a secret: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of
the raw body, keyed with the secret>`` (Jira Cloud admin webhooks, Jira Data Center 10 and later)."""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value Jira sends for ``body`` under ``secret``."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, body: bytes, header: str | None) -> str | None:
    """Why ``header`` does not prove that ``body`` was signed with ``secret`` (None: it does). Compared in constant
    time; the text names no secret and no digest."""
    if not header or not header.strip():
        return "the X-Hub-Signature header is missing (the instance has a webhook secret: Jira must sign deliveries)"
    value = header.strip()
    if not value.lower().startswith(SCHEME):
        return "the X-Hub-Signature header is not of the form sha256=<hex>"
    if not hmac.compare_digest(sign(secret, body).encode(), (SCHEME + value[len(SCHEME) :].lower()).encode()):
        return "the X-Hub-Signature does not match the body under the instance's webhook secret"
    return None
