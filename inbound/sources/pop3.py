"""POP3 mailboxes (poplib), keyed by UIDL. Messages are deleted only when the source says so, and the
deletions take effect at QUIT, after everything taken in the session was recorded."""

from __future__ import annotations

import base64
import contextlib
import functools
import poplib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from inbound.models import Security, Source
from inbound.sources import oauth
from inbound.sources.base import Envelope, MailboxSession, SourceError

TIMEOUT = 60.0
ERRORS = (poplib.error_proto, OSError, ssl.SSLError, socket.timeout, EOFError)
# poplib refuses lines over 2048 bytes, but real mail has longer ones (RFC 5322 only advises 998).
poplib._MAXLINE = max(poplib._MAXLINE, 1024 * 1024)  # type: ignore[attr-defined]  # private, not in typeshed


def _words(exc: BaseException) -> str:
    if exc.args and isinstance(exc.args[0], bytes):
        return exc.args[0].decode("utf-8", "replace")
    return str(exc) or exc.__class__.__name__


class Pop3Session(MailboxSession):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.conn: poplib.POP3 | None = None
        self.greeting = ""
        self.count = 0
        self.sizes: dict[int, int] = {}

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ERRORS as exc:
            raise SourceError(f"{what}: {_words(exc)}") from exc

    def open(self) -> None:
        source = self.source
        context = ssl.create_default_context()
        host, port = source.effective_host, source.effective_port
        if port is None:
            raise SourceError(f"{host}: no port is set and this kind of source has no default port")
        if source.security == Security.TLS:
            self.conn = self._call(
                f"cannot connect to {host}:{port}",
                lambda: poplib.POP3_SSL(host, port, timeout=TIMEOUT, context=context),
            )
        else:
            self.conn = self._call(f"cannot connect to {host}:{port}", lambda: poplib.POP3(host, port, timeout=TIMEOUT))
        conn = self.conn
        self.greeting = _words(poplib.error_proto(conn.getwelcome()))
        if source.security == Security.STARTTLS:
            self._call("STLS failed", lambda: conn.stls(context))
        if source.uses_oauth:
            oauth.sign_in(source, lambda user, token: self._call("login failed", lambda: self._auth(conn, user, token)))
        else:
            self._call("login failed", lambda: conn.user(source.username))
            self._call("login failed", lambda: conn.pass_(source.password))
        _, listing, _ = self._call("LIST failed", conn.list)
        for line in listing:
            number, size = line.split()[:2]
            self.sizes[int(number)] = int(size)
        self.count = len(self.sizes)

    def _auth(self, conn: poplib.POP3, user: str, token: str) -> None:
        """``AUTH XOAUTH2`` / ``AUTH OAUTHBEARER`` with an initial response (RFC 5034). A server refusing the token
        may first send a challenge holding its reason; the empty answer to it ends the exchange with ``-ERR``."""
        mechanism = self.source.sasl_mechanism.upper()
        response = base64.b64encode(oauth.sasl_initial_response(self.source, user, token)).decode("ascii")
        answer = conn._shortcmd(f"AUTH {mechanism} {response}")  # type: ignore[attr-defined]  # private, not in typeshed
        if not answer.startswith(b"+OK"):  # a "+ challenge": answer it with an empty line to get the verdict
            conn._putcmd("")  # type: ignore[attr-defined]
            conn._getresp()  # type: ignore[attr-defined]  # raises error_proto on -ERR
            raise poplib.error_proto(b"-ERR the server refused the token")

    def close(self, failed: bool = False) -> None:
        if self.conn is None:
            return
        try:
            self.conn.quit()  # commits the DELEs of messages already recorded
        except ERRORS:
            with contextlib.suppress(*ERRORS):
                self.conn.close()
        self.conn = None

    def pending(self) -> list[Envelope]:
        assert self.conn is not None
        _, lines, _ = self._call("UIDL failed", self.conn.uidl)
        envelopes = []
        for line in lines:
            number, uidl = line.decode("ascii", "replace").split()[:2]
            envelopes.append(Envelope(key=f"pop3:{uidl}", ref=int(number), size=self.sizes.get(int(number))))
        return sorted(envelopes, key=lambda e: int(e.ref))

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[tuple[Envelope, bytes]]:
        assert self.conn is not None
        conn = self.conn
        for envelope in envelopes:
            _, lines, _ = self._call("RETR failed", functools.partial(conn.retr, envelope.ref))
            yield envelope, b"\r\n".join(lines) + b"\r\n"

    def fetch_headers(self, envelope: Envelope) -> bytes:
        assert self.conn is not None
        conn = self.conn
        _, lines, _ = self._call("TOP failed", lambda: conn.top(envelope.ref, 0))
        return b"\r\n".join(lines) + b"\r\n"

    def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        assert self.conn is not None
        if not self.source.delete_after_capture:
            return  # kept on the server; the receipts (UIDL) stop it being captured again
        conn = self.conn
        for envelope in envelopes:
            self._call("DELE failed", functools.partial(conn.dele, envelope.ref))

    def describe(self) -> str:
        total = sum(self.sizes.values())
        text = f"Connected and logged in. {self.count} messages ({total} bytes) waiting."
        return f"{text} Server greeting: {self.greeting}" if self.greeting else text
