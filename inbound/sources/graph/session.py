"""A Microsoft Graph mailbox folder as a polled source (the same interface as IMAP: see ``inbound.sources.base``).

- **pending**: one delta round over the folder (``/users/{mailbox}/mailFolders/{folder}/messages/delta``, only
  created messages, ``$select=id,isRead,receivedDateTime``), following ``@odata.nextLink`` page by page from the
  ``@odata.deltaLink`` the last complete round ended with (the first round lists the whole folder). With the "mark
  read" strategy read messages are left alone, as IMAP takes only unseen mail. A link Graph no longer knows (410)
  starts a full round again: receipts keep known mail from being captured twice.
- **fetch**: each message's MIME (``/messages/{id}/$value``), streamed; one over the source's size limit is read
  no further than the limit (and recorded from its headers as too large).
- **acknowledge**: PATCH ``isRead``, POST ``/move`` or DELETE, after capture recorded the message; a message gone
  meanwhile (404) needs nothing more.
- **state**: the new delta link, kept only once every message of the round was captured and acknowledged. A poll
  stopped earlier (a crash, an error, the batch limit) leaves the old link, so the next poll sees the same messages
  again: captured ones are recognised by their receipt (key: the message's immutable id) and only acknowledged.

Message ids are asked for as immutable ids (``Prefer: IdType="ImmutableId"``), so a key stays the message's own.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from inbound.models import ReadStrategy, Source
from inbound.sources.base import Envelope, MailboxSession, SourceError
from inbound.sources.graph.auth import graph_client
from inbound.sources.graph.folders import WELL_KNOWN, folder_id, path_segment
from jemh.msgraph.client import GraphClient, GraphError, GraphThrottled

log = logging.getLogger(__name__)
PAGE_SIZE = 50
PREFER = {"Prefer": f'odata.maxpagesize={PAGE_SIZE}, IdType="ImmutableId"'}
READ_PIECE = 256 * 1024
GONE = 404
EXPIRED_LINK = 410
T = TypeVar("T")


def message_key(message_id: str) -> str:
    """The receipt key of a Graph message (its immutable id; hashed when too long for the key column)."""
    key = f"graph:{message_id}"
    return key if len(key) <= 240 else "graph:sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


class GraphSession(MailboxSession):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.client: GraphClient | None = None
        self.mailbox_path = f"/users/{quote(source.graph_mailbox, safe='@')}"
        self.folder = ""
        self.scope = f"{source.graph_mailbox}\n{source.folder}"
        self.delta_link: str | None = None  # where this round ended
        self.untold: set[str] = set()  # keys of this round's messages not yet acknowledged

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except GraphThrottled as exc:
            raise SourceError(f"{what}: {exc}", retry_after=exc.retry_after) from exc
        except GraphError as exc:
            raise SourceError(f"{what}: {exc}") from exc

    def _client(self) -> GraphClient:
        assert self.client is not None, "the session is not open"
        return self.client

    def open(self) -> None:
        self.client = graph_client(self.source)
        client = self.client
        self.folder = self._call(
            f"cannot open folder {self.source.folder!r}",
            lambda: folder_id(client, self.mailbox_path, self.source.folder),
        )

    def close(self, failed: bool = False) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _initial_round(self) -> str:
        folder = path_segment(self.folder)
        return (
            f"{self.mailbox_path}/mailFolders/{folder}/messages/delta"
            "?changeType=created&$select=id,isRead,receivedDateTime"
        )

    def pending(self) -> list[Envelope]:
        source = self.source
        known = source.graph_delta_link if source.graph_delta_scope == self.scope else ""
        try:
            items = self._round(known or self._initial_round())
        except SourceError as exc:
            cause = exc.__cause__
            if not known or not isinstance(cause, GraphError) or cause.status != EXPIRED_LINK:
                raise
            log.warning("source %s: Graph no longer knows the delta link; listing the folder again", source.pk)
            items = self._round(self._initial_round())
        unread_only = source.read_strategy == ReadStrategy.MARK_READ
        seen: dict[str, dict[str, Any]] = {}
        for item in items:
            if "@removed" in item or "id" not in item:
                seen.pop(str(item.get("id")), None)
                continue
            if unread_only and item.get("isRead"):
                seen.pop(str(item["id"]), None)
                continue
            seen[str(item["id"])] = item
        ordered = sorted(seen.values(), key=lambda item: str(item.get("receivedDateTime") or ""))
        envelopes = [Envelope(key=message_key(str(item["id"])), ref=str(item["id"])) for item in ordered]
        self.untold = {e.key for e in envelopes}
        return envelopes

    def _round(self, url: str) -> list[dict[str, Any]]:
        """Every item of one delta round from ``url``; remembers the round's delta link."""
        client = self._client()
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        self.delta_link = None
        while next_url:
            page = self._call("listing new messages failed", functools.partial(self._page, client, next_url))
            body = page.json()
            items.extend(body.get("value", []))
            next_url = body.get("@odata.nextLink")
            if not next_url:
                self.delta_link = body.get("@odata.deltaLink")
        return items

    @staticmethod
    def _page(client: GraphClient, url: str) -> httpx.Response:
        return client.request("GET", url, headers=PREFER)

    def _message(self, envelope: Envelope) -> str:
        return f"{self.mailbox_path}/messages/{path_segment(str(envelope.ref))}"

    def _read(self, envelope: Envelope, *, headers_only: bool) -> tuple[bytes | None, int | None]:
        """The message's MIME (or only as much as holds its header section), and its full size when it was not
        read to the end; None when the message is gone."""
        client = self._client()
        limit = self.source.max_message_size
        try:
            response = client.request("GET", f"{self._message(envelope)}/$value", headers=PREFER, stream=True)
        except GraphThrottled as exc:
            raise SourceError(f"fetch failed: {exc}", retry_after=exc.retry_after) from exc
        except GraphError as exc:
            if exc.status == GONE:
                return None, None
            raise SourceError(f"fetch failed: {exc}") from exc
        try:
            declared = int(response.headers.get("Content-Length") or 0) or None
            pieces: list[bytes] = []
            total = 0
            for piece in response.iter_bytes(READ_PIECE):
                pieces.append(piece)
                total += len(piece)
                if total > limit or (headers_only and _has_header_end(pieces)):
                    return b"".join(pieces), max(declared or 0, total)
            return b"".join(pieces), None
        except Exception as exc:
            raise SourceError(f"fetch failed: {type(exc).__name__}: {exc}") from exc
        finally:
            response.close()

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[tuple[Envelope, bytes]]:
        for envelope in envelopes:
            raw, size = self._read(envelope, headers_only=False)
            if raw is None:
                self.untold.discard(envelope.key)  # deleted or moved by someone else meanwhile
                continue
            yield (Envelope(envelope.key, envelope.ref, size) if size else envelope), raw

    def fetch_headers(self, envelope: Envelope) -> bytes:
        raw, _size = self._read(envelope, headers_only=True)
        return raw or b""

    def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        client = self._client()
        strategy = self.source.read_strategy
        target = ""
        if strategy == ReadStrategy.MOVE and envelopes:
            target = self._call(
                f"cannot find the move-to folder {self.source.move_to!r}",
                lambda: folder_id(client, self.mailbox_path, self.source.move_to),
            )
        for envelope in envelopes:
            path = self._message(envelope)
            try:
                if strategy == ReadStrategy.MARK_READ:
                    client.request("PATCH", path, json={"isRead": True}, headers=PREFER)
                elif strategy == ReadStrategy.MOVE:
                    client.request("POST", f"{path}/move", json={"destinationId": target}, headers=PREFER)
                else:
                    client.request("DELETE", path, headers=PREFER)
            except GraphThrottled as exc:
                raise SourceError(f"telling the mailbox failed: {exc}", retry_after=exc.retry_after) from exc
            except GraphError as exc:
                if exc.status != GONE:  # gone already: nothing left to tell
                    raise SourceError(f"telling the mailbox failed: {exc}") from exc
            self.untold.discard(envelope.key)

    def describe(self) -> str:
        client = self._client()
        folder = path_segment(self.folder)
        info = self._call(
            "reading the folder failed",
            lambda: client.request("GET", f"{self.mailbox_path}/mailFolders/{folder}", headers=PREFER).json(),
        )
        text = (
            f"Connected to {self.source.graph_mailbox} through Microsoft Graph. Folder "
            f"{info.get('displayName', self.source.folder)!r}: {info.get('totalItemCount', '?')} messages, "
            f"{info.get('unreadItemCount', '?')} unread."
        )
        if self.source.read_strategy == ReadStrategy.MOVE:
            target = self._call(
                "looking up the move-to folder failed",
                lambda: folder_id(client, self.mailbox_path, self.source.move_to),
            )
            if target == self.source.move_to and target.lower() not in WELL_KNOWN:
                text += f" Warning: no folder named {self.source.move_to!r} was found (it is used as a folder id)."
        return text

    def state(self) -> dict[str, object]:
        if self.delta_link is None or self.untold:
            return {}  # the round is not finished: the next poll starts from the last complete one again
        return {"graph_delta_link": self.delta_link, "graph_delta_scope": self.scope}


def _has_header_end(pieces: list[bytes]) -> bool:
    return b"\n\n" in b"".join(pieces).replace(b"\r\n", b"\n")
