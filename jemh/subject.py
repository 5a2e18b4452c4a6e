"""What every app reports about one e-mail address (a data subject) for its export: one :class:`HeldItem` per row,
with its decrypted fields and the stored blobs that belong to it. The apps find and erase their own rows; the read
side (auditing.subject) gathers them into the export and the erasure record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[str], None]


def quiet(text: str) -> None:
    """A progress callback that says nothing."""


@dataclass
class HeldItem:
    """One thing held about the address: its kind (e.g. ``inbound_message``), id, fields and files (name → bytes)."""

    kind: str
    id: str
    record: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def mentions(text: Any, address: str) -> bool:
    """Whether a value (text, bytes, or JSON-like data) names ``address``, case-insensitively."""
    needle = address.strip().lower()
    if not needle or text is None:
        return False
    if isinstance(text, bytes):
        return needle.encode() in text.lower()
    if not isinstance(text, str):
        import json

        text = json.dumps(text, ensure_ascii=False, default=str)
    return needle in text.lower()
