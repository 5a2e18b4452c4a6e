"""MTA pipe delivery: one message on standard input, captured for a named pipe source."""

from __future__ import annotations

from typing import BinaryIO

from inbound.capture import CaptureResult, capture, capture_oversized
from inbound.models import Source
from inbound.summary import header_block

READ_CHUNK = 1024 * 1024


class EmptyMessage(ValueError):
    """Nothing arrived on standard input."""


def deliver(source: Source, stream: BinaryIO) -> CaptureResult:
    """Capture the message read from ``stream``; oversized mail is recorded from its headers and rejected.

    Raises EmptyMessage, or StoreError / database errors when it could not be recorded (temporary).
    """
    limit = source.max_message_size
    data = _read_at_most(stream, limit + 1)
    if not data.strip():
        raise EmptyMessage("no message on standard input")
    if len(data) <= limit:
        return capture(source, data)
    size = len(data)
    headers = header_block(data)
    del data
    while piece := stream.read(READ_CHUNK):  # drain, so the MTA sees the whole message accepted
        size += len(piece)
    return capture_oversized(source, headers, size=size)


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        piece = stream.read(min(READ_CHUNK, remaining))
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)
