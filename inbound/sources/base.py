"""The common interface of mailboxes that are polled (IMAP, POP3, Maildir).

A session is opened per poll. Retrieval asks it for the messages waiting (``pending``), their sizes
(``measure``), their content (``fetch`` / ``fetch_headers``) and, only once they are recorded, tells it
they were taken (``acknowledge``: mark read, move, delete).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

# Fetch in small chunks so memory stays bounded whatever the mailbox holds.
FETCH_CHUNK_MESSAGES = 25
FETCH_CHUNK_BYTES = 4 * 1024 * 1024


class SourceError(Exception):
    """The mailbox could not be read; the message is the server's own words where there are any. ``retry_after``:
    the server asked not to be polled again for that many seconds (throttling)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Envelope:
    """A message waiting in a mailbox: its stable key there, the session's handle on it, its size."""

    key: str
    ref: str | int
    size: int | None = None


class MailboxSession(ABC):
    """One connection to a mailbox, used as a context manager."""

    #: True when the mailbox was renumbered since the last poll (IMAP UIDVALIDITY changed): messages seen
    #: before come back with new keys and are recognised by Message-ID or content instead.
    revalidating: bool = False

    def __enter__(self) -> MailboxSession:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(failed=exc is not None)

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self, failed: bool = False) -> None: ...

    @abstractmethod
    def pending(self) -> list[Envelope]:
        """Messages waiting, oldest first (sizes may be unknown)."""

    def measure(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """The same envelopes with their sizes."""
        return list(envelopes)

    @abstractmethod
    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[tuple[Envelope, bytes]]:
        """The raw bytes of each message (without changing its state on the server)."""

    @abstractmethod
    def fetch_headers(self, envelope: Envelope) -> bytes:
        """Only the header section (for a message too large to fetch)."""

    @abstractmethod
    def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        """Tell the mailbox these messages were taken (the source's read strategy)."""

    @abstractmethod
    def describe(self) -> str:
        """What the server said about the mailbox: for the admin's "test connection"."""

    def state(self) -> dict[str, object]:
        """Runtime state to remember on the source after a successful poll (e.g. UIDVALIDITY)."""
        return {}


def fetch_chunks(envelopes: Sequence[Envelope]) -> Iterator[list[Envelope]]:
    """Group envelopes by count and by known size."""
    chunk: list[Envelope] = []
    size = 0
    for envelope in envelopes:
        if chunk and (len(chunk) >= FETCH_CHUNK_MESSAGES or size + (envelope.size or 0) > FETCH_CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(envelope)
        size += envelope.size or 0
    if chunk:
        yield chunk
