"""Maildir directories an MTA delivers into: messages in ``new/`` are captured, then moved to ``cur/`` with
the Seen flag (mark read), moved into a Maildir++ subfolder (move), or removed (delete)."""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from inbound.models import ReadStrategy, Source
from inbound.sources.base import Envelope, MailboxSession, SourceError
from inbound.summary import MAX_HEADER_BYTES, header_block


def unique_name(filename: str) -> str:
    """The Maildir unique part of a file name (without the ``:2,FLAGS`` info)."""
    return filename.split(":", 1)[0]


class MaildirSession(MailboxSession):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.root = Path(source.maildir_path)

    def open(self) -> None:
        try:
            mailbox.Maildir(self.root, create=False)
        except mailbox.NoSuchMailboxError as exc:
            raise SourceError(f"the Maildir {self.root} does not exist") from exc
        except OSError as exc:
            raise SourceError(f"cannot open Maildir {self.root}: {exc.strerror or exc}") from exc
        for sub in ("new", "cur", "tmp"):
            if not (self.root / sub).is_dir():
                raise SourceError(f"{self.root} is not a Maildir: it has no {sub}/ directory")
        if not os.access(self.root / "new", os.R_OK | os.W_OK | os.X_OK):
            raise SourceError(f"no permission to read and move mail in {self.root / 'new'}")

    def close(self, failed: bool = False) -> None:
        pass

    def pending(self) -> list[Envelope]:
        new = self.root / "new"
        try:
            entries = sorted(os.scandir(new), key=lambda e: e.name)
        except OSError as exc:
            raise SourceError(f"cannot list {new}: {exc.strerror or exc}") from exc
        return [
            Envelope(key=f"maildir:{unique_name(e.name)}", ref=e.name)
            for e in entries
            if not e.name.startswith(".") and e.is_file()
        ]

    def measure(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        measured = []
        for envelope in envelopes:
            try:
                size = (self.root / "new" / str(envelope.ref)).stat().st_size
            except FileNotFoundError:
                continue  # taken by someone else meanwhile
            measured.append(Envelope(envelope.key, envelope.ref, size))
        return measured

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[tuple[Envelope, bytes]]:
        for envelope in envelopes:
            try:
                yield envelope, (self.root / "new" / str(envelope.ref)).read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SourceError(f"cannot read {envelope.ref}: {exc.strerror or exc}") from exc

    def fetch_headers(self, envelope: Envelope) -> bytes:
        with open(self.root / "new" / str(envelope.ref), "rb") as handle:
            return header_block(handle.read(MAX_HEADER_BYTES))

    def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        strategy = self.source.read_strategy
        if strategy == ReadStrategy.MOVE:
            target = self.root / f".{self.source.move_to}"
            for sub in ("new", "cur", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            target = target / "cur"
        else:
            target = self.root / "cur"
        for envelope in envelopes:
            current = self.root / "new" / str(envelope.ref)
            try:
                if strategy == ReadStrategy.DELETE:
                    current.unlink()
                else:
                    os.rename(current, target / f"{unique_name(str(envelope.ref))}:2,S")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SourceError(f"cannot move {envelope.ref} out of new/: {exc.strerror or exc}") from exc

    def describe(self) -> str:
        waiting = len(self.pending())
        return f"Maildir {self.root} is readable: {waiting} messages waiting in new/."
