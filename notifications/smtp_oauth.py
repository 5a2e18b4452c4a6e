"""Outbound SMTP signed in with OAuth (SASL XOAUTH2 or OAUTHBEARER), per instance: an instance whose OAuth mailbox
is set to send its mail (notifications, hints, forwards, alerts) sends through that mailbox's SMTP server with the
mailbox's own OAuth connection; every other instance sends through ``EMAIL_URL`` as before.

The notifications app knows nothing of mailboxes: the app that holds them (inbound) registers a function that
answers, for an instance, how to sign in (:func:`register`).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

TIMEOUT = 30


@dataclass(frozen=True)
class OAuthSmtpLogin:
    """How one instance's mail is sent: the SMTP server, the mailbox, and how to get its token."""

    host: str
    port: int
    security: str  # "tls" (implicit), "starttls" or "none"
    username: str
    mechanism: str  # "xoauth2" or "oauthbearer"
    #: the access token; ``token(True)`` after the server refused one (refreshes it); raises when none can be had
    token: Callable[[bool], str]


_resolver: Callable[[int], OAuthSmtpLogin | None] | None = None


def register(resolver: Callable[[int], OAuthSmtpLogin | None]) -> None:
    """Set the function that answers an instance id with its OAuth SMTP login (None: use EMAIL_URL)."""
    global _resolver
    _resolver = resolver


def login_for(instance_id: int | None) -> OAuthSmtpLogin | None:
    if instance_id is None or _resolver is None:
        return None
    return _resolver(instance_id)


def sasl_response(mechanism: str, user: str, token: str) -> str:
    """The SASL initial response (not yet base64-encoded: smtplib encodes it)."""
    if mechanism == "oauthbearer":
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={authzid},\x01auth=Bearer {token}\x01\x01"
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


class OAuthSmtpBackend(SmtpBackend):
    """Django's SMTP backend, authenticating with an OAuth token instead of a password; a refused token is
    refreshed and tried once more. A token that cannot be had is an SMTP authentication error (an outage to the
    sender: the mail waits until someone signs in again)."""

    def __init__(self, login: OAuthSmtpLogin, **kwargs: Any) -> None:
        super().__init__(
            host=login.host,
            port=login.port,
            username="",
            password="",
            use_tls=login.security == "starttls",
            use_ssl=login.security == "tls",
            timeout=TIMEOUT,
            fail_silently=False,
            **kwargs,
        )
        self.login = login

    def open(self) -> bool | None:
        opened = super().open()  # connects (and STARTTLS); no password login, since username is blank
        if not opened or self.connection is None:
            return opened
        try:
            self._authenticate(self.connection)
        except BaseException:
            self.close()
            raise
        return opened

    def _authenticate(self, session: smtplib.SMTP) -> None:
        session.ehlo_or_helo_if_needed()
        mechanism = self.login.mechanism.upper()
        try:
            self._auth(session, mechanism, self._token(False))
        except smtplib.SMTPAuthenticationError:
            self._auth(session, mechanism, self._token(True))

    def _auth(self, session: smtplib.SMTP, mechanism: str, token: str) -> None:
        initial = sasl_response(self.login.mechanism, self.login.username, token)
        # A refusal may come as a 334 challenge with the reason: it is answered with an empty line.
        session.auth(mechanism, lambda challenge=None: initial if challenge is None else "", initial_response_ok=True)

    def _token(self, refresh: bool) -> str:
        try:
            return self.login.token(refresh)
        except Exception as exc:
            raise smtplib.SMTPAuthenticationError(535, f"no OAuth token for {self.login.host}: {exc}".encode()) from exc
