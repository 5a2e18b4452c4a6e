"""A fake OpenID provider on loopback (oidc-provider-mock: consent page, token endpoint with refresh, userinfo,
revocation), and HS256 JWT access tokens for Dovecot's local validation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.services.base import free_port

JWT_ISSUER = "https://issuer.jemh.test"
JWT_SECRET = b"a test signing secret for dovecot, 32+ bytes long"


@dataclass
class OidcProvider:
    port: int
    server: Any
    context: AbstractContextManager[Any]

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, email: str) -> None:
        """A user (sub = email) whose userinfo says its email: Dovecot logs it in under that name."""
        httpx.put(f"{self.issuer}/users/{email}", json={"email": email}, timeout=10).raise_for_status()

    def revoke(self, email: str) -> None:
        """Revoke every access and refresh token of the user (as an admin revoking the app's grant would)."""
        httpx.post(f"{self.issuer}/users/{email}/revoke-tokens", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.context.__exit__(None, None, None)


def start_oidc_provider() -> OidcProvider:
    from oidc_provider_mock import run_server_in_thread

    port = free_port()
    context = run_server_in_thread(port=port)
    server = context.__enter__()
    return OidcProvider(port=port, server=server, context=context)


def introspection_config(provider: OidcProvider) -> str:
    """Dovecot's oauth2.conf.ext asking the provider's userinfo endpoint about each token."""
    return f"introspection_mode = auth\nintrospection_url = {provider.issuer}/userinfo\nusername_attribute = email\n"


def jwt_config(root: str) -> str:
    """Dovecot's oauth2.conf.ext validating HS256 JWTs locally (the key must be written by write_jwt_key)."""
    return (
        "introspection_mode = local\n"
        f"local_validation_key_dict = fs:posix:prefix={root}/keys/\n"
        "username_attribute = email\n"
        f"issuers = {JWT_ISSUER}\n"
    )


def write_jwt_key(root: Any) -> None:
    key = root / "keys" / "default" / "HS256"
    key.mkdir(parents=True, exist_ok=True)
    (key / "default").write_text(base64.b64encode(JWT_SECRET).decode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(email: str, lifetime: int = 3600, issuer: str = JWT_ISSUER, secret: bytes = JWT_SECRET) -> str:
    """An HS256 access token for ``email`` as a provider would sign it."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": issuer, "sub": email, "email": email, "iat": now, "nbf": now, "exp": now + lifetime}
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def consent(authorize_url: str, email: str) -> str:
    """Consent on the provider's page as ``email`` would (no browser): the URL it sends the browser back to."""
    response = httpx.post(authorize_url, data={"sub": email}, follow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:500]
    return response.headers["location"]
