"""IMAP mailboxes (imapclient).

Messages are read with ``BODY.PEEK[]`` (never setting \\Seen as a side effect) and keyed by
folder + UIDVALIDITY + UID. With the "mark read" strategy only unseen mail is considered; with "move" and
"delete" every message left in the folder is. Sizes come from ``RFC822.SIZE`` before any body is fetched,
so an oversized message's body is never downloaded (only ``BODY.PEEK[HEADER]``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inbound.models import ReadStrategy, SaslMechanism, Security, Source
from inbound.sources import oauth
from inbound.sources.base import Envelope, MailboxSession, SourceError

TIMEOUT = 60.0
LARGE_MESSAGE = 2 * 1024 * 1024  # fetched in pieces of PIECE bytes
PIECE = 1024 * 1024
CONNECTION_ERRORS = (IMAPClientError, OSError, ssl.SSLError, socket.timeout, EOFError)


def server_words(exc: BaseException) -> str:
    """An exception's message as the server put it (imaplib wraps responses in b'...')."""
    text = str(exc).strip()
    for prefix in ("b'", 'b"'):
        if text.startswith(prefix) and text.endswith(prefix[1]):
            text = text[2:-1]
    return text or exc.__class__.__name__


def folder_token(folder: str) -> str:
    return folder if len(folder) <= 100 else "sha1-" + hashlib.sha1(folder.encode()).hexdigest()


class ImapSession(MailboxSession):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.client: IMAPClient | None = None
        self.uidvalidity: int | None = None
        self.greeting = ""
        self.folder_info: dict[bytes, object] = {}

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except CONNECTION_ERRORS as exc:
            raise SourceError(f"{what}: {server_words(exc)}") from exc

    def open(self) -> None:
        source = self.source
        context = ssl.create_default_context()
        host, port = source.effective_host, source.effective_port
        self.client = self._call(
            f"cannot connect to {host}:{port}",
            lambda: IMAPClient(
                host, port=port, ssl=source.security == Security.TLS, ssl_context=context, timeout=TIMEOUT
            ),
        )
        client = self.client
        self.greeting = server_words(client.welcome) if client.welcome else ""
        if source.security == Security.STARTTLS:
            self._call("STARTTLS failed", lambda: client.starttls(context))
        if source.uses_oauth:
            oauth.sign_in(source, lambda user, token: self._oauth_login(client, user, token))
        else:
            self._call("login failed", lambda: client.login(source.username, source.password))
        self.folder_info = self._call(
            f"cannot open folder {source.folder!r}", lambda: client.select_folder(source.folder)
        )
        self.uidvalidity = int(self.folder_info[b"UIDVALIDITY"])  # type: ignore[call-overload]  # IMAPClient returns the server's values untyped
        known = source.uidvalidity if source.uidvalidity_folder == source.folder else None
        self.revalidating = known is not None and known != self.uidvalidity

    def _oauth_login(self, client: IMAPClient, user: str, token: str) -> None:
        if self.source.sasl_mechanism == SaslMechanism.OAUTHBEARER:
            self._call("OAUTHBEARER login failed", lambda: client.oauthbearer_login(user, token))
        else:
            self._call("XOAUTH2 login failed", lambda: client.oauth2_login(user, token))

    def close(self, failed: bool = False) -> None:
        if self.client is None:
            return
        try:
            self.client.logout()
        except CONNECTION_ERRORS:
            with contextlib.suppress(*CONNECTION_ERRORS):
                self.client.shutdown()
        self.client = None

    def _key(self, uid: int) -> str:
        return f"imap:{folder_token(self.source.folder)}:{self.uidvalidity}:{uid}"

    def pending(self) -> list[Envelope]:
        assert self.client is not None
        client = self.client
        criteria = (
            ["UNSEEN", "NOT", "DELETED"] if self.source.read_strategy == ReadStrategy.MARK_READ else ["NOT", "DELETED"]
        )
        uids = self._call("search failed", lambda: client.search(criteria))
        return [Envelope(key=self._key(uid), ref=uid) for uid in sorted(uids)]

    def measure(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        assert self.client is not None
        client = self.client
        if not envelopes:
            return []
        sizes = self._call("fetch of sizes failed", lambda: client.fetch([e.ref for e in envelopes], [b"RFC822.SIZE"]))
        return [Envelope(e.key, e.ref, int(sizes.get(e.ref, {}).get(b"RFC822.SIZE", 0))) for e in envelopes]

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[tuple[Envelope, bytes]]:
        assert self.client is not None
        client = self.client
        small = [e for e in envelopes if (e.size or 0) <= LARGE_MESSAGE]
        data = (
            self._call("fetch failed", lambda: client.fetch([e.ref for e in small], [b"BODY.PEEK[]"])) if small else {}
        )
        for envelope in envelopes:
            if (envelope.size or 0) > LARGE_MESSAGE:
                body = self._fetch_in_pieces(envelope)
            else:
                body = data.pop(envelope.ref, {}).get(b"BODY[]")
            if body is None:
                continue  # expunged by someone else meanwhile: nothing to capture
            yield envelope, body

    def _fetch_in_pieces(self, envelope: Envelope) -> bytes | None:
        """A large message in partial fetches: imaplib and imapclient hold several copies of a literal
        while parsing it, so one big FETCH would cost about four times the message in memory."""
        assert self.client is not None
        client = self.client
        pieces: list[bytes] = []
        offset = 0
        while True:
            item = f"BODY.PEEK[]<{offset}.{PIECE}>".encode()
            data = self._call("fetch failed", functools.partial(client.fetch, [envelope.ref], [item]))
            found = data.get(envelope.ref, {})
            piece = next((v for k, v in found.items() if k.startswith(b"BODY[]")), None)
            if piece is None:
                return b"".join(pieces) if pieces else None
            pieces.append(piece)
            offset += len(piece)
            if len(piece) < PIECE:
                return b"".join(pieces)

    def fetch_headers(self, envelope: Envelope) -> bytes:
        assert self.client is not None
        client = self.client
        data = self._call("fetch of headers failed", lambda: client.fetch([envelope.ref], [b"BODY.PEEK[HEADER]"]))
        return data.get(envelope.ref, {}).get(b"BODY[HEADER]", b"") or b""

    def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        assert self.client is not None
        client = self.client
        uids = [e.ref for e in envelopes]
        if not uids:
            return
        strategy = self.source.read_strategy
        if strategy == ReadStrategy.MARK_READ:
            self._call("marking as read failed", lambda: client.add_flags(uids, [b"\\Seen"], silent=True))
            return
        if strategy == ReadStrategy.MOVE:
            target = self.source.move_to
            if client.has_capability("MOVE"):
                self._call(f"moving to {target!r} failed", lambda: client.move(uids, target))
                return
            self._call(f"copying to {target!r} failed", lambda: client.copy(uids, target))
        self._call("deleting failed", lambda: client.delete_messages(uids, silent=True))
        self._expunge(uids)

    def _expunge(self, uids: list[int | str]) -> None:
        assert self.client is not None
        client = self.client
        if client.has_capability("UIDPLUS"):
            self._call("expunge failed", lambda: client.expunge(uids))
        else:  # without UIDPLUS only a folder-wide EXPUNGE exists
            self._call("expunge failed", lambda: client.expunge())

    def describe(self) -> str:
        assert self.client is not None
        client = self.client
        folder = self.source.folder
        unseen = self._call("search failed", lambda: client.search(["UNSEEN"]))
        exists = self.folder_info.get(b"EXISTS", "?")
        text = (
            f"Connected and logged in. Folder {folder!r}: {exists} messages, {len(unseen)} unread, "
            f"UIDVALIDITY {self.uidvalidity}."
        )
        if self.source.read_strategy == ReadStrategy.MOVE:
            exists_target = self._call("listing folders failed", lambda: client.folder_exists(self.source.move_to))
            if not exists_target:
                text += f" Warning: the move-to folder {self.source.move_to!r} does not exist."
        return f"{text} Server greeting: {self.greeting}" if self.greeting else text

    def state(self) -> dict[str, object]:
        return {"uidvalidity": self.uidvalidity, "uidvalidity_folder": self.source.folder}
