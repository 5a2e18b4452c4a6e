"""TNEF (``winmail.dat``, ``application/ms-tnef``) expanded into its real attachments and body."""

from __future__ import annotations

import logging
import struct
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tnefparse import mapi as tnef_mapi
from tnefparse import tnef as tnef_module

from inbound.mime.charsets import decode_text
from inbound.mime.limits import MAX_TNEF

_MAX_TNEF_FILES = 200
MAX_TNEF_OBJECTS = 20_000  # TNEF attributes read (an Outlook message has a few dozen); the rest is not read
_OBJECT_HEADER = struct.Struct("<BHHI")  # level, name, type, length: then the data and a 2-byte checksum
_MIN_OBJECT = tnef_module.TNEF.MIN_OBJ_SIZE


# tnefparse is used as it is, with three costs taken out by binding some of the global names its functions
# look up to ours (nothing of tnefparse is changed for other callers):
# - it slices ``data[offset:]`` for every attribute, copying the rest of the stream each time (quadratic in the
#   number of attributes): it is given a memoryview, and each attribute copies only its own bytes;
# - ``decode_mapi`` loops over a property count read from the data even past the end of the data (a count of
#   2**32 - 1 in a 4-byte attribute spins for an hour): the first skipped property ends the loop, which is what
#   the remaining iterations would amount to;
# - an attached message (``IMESSAGE_SIG``) is parsed again, recursively, into ``attachment.embed``, which we never
#   read: it is not parsed.
def _rebound(function: Callable[..., Any], **names: object) -> Callable[..., Any]:
    globals_ = {**function.__globals__, **names}
    return types.FunctionType(function.__code__, globals_, function.__name__, function.__defaults__)


class _SkipEnds(Exception):
    pass


class _MapiLogger:
    """Stands in for tnefparse's logger inside ``decode_mapi``: "Skipping property" (past the end) stops."""

    def warning(self, *_args: object) -> None:
        raise _SkipEnds

    def error(self, *_args: object, **_kwargs: object) -> None:
        pass

    def debug(self, *_args: object, **_kwargs: object) -> None:
        pass


class _Attribute(tnef_module.TNEFObject):
    """A TNEF attribute read from a memoryview of the stream: its data is a copy of its own bytes only."""

    def __init__(self, data: memoryview, do_checksum: bool = False) -> None:
        super().__init__(data, do_checksum)
        self.data: bytes = bytes(self.data)


class _NotParsed(tnef_module.TNEF):
    """An attached message's TNEF, left unparsed (``add_attr`` reads the class's constants, never the object)."""

    def __init__(self, _data: bytes) -> None:
        pass


_decode_mapi = _rebound(tnef_mapi.decode_mapi, logger=_MapiLogger())


class _Attachment(tnef_module.TNEFAttachment):
    add_attr = _rebound(tnef_module.TNEFAttachment.add_attr, decode_mapi=_decode_mapi, TNEF=_NotParsed)


_read_stream = _rebound(
    tnef_module.TNEF.__init__, TNEFObject=_Attribute, TNEFAttachment=_Attachment, decode_mapi=_decode_mapi
)


class _LinearTNEF(tnef_module.TNEF):
    def __init__(self, data: memoryview) -> None:
        _read_stream(self, data, do_checksum=False)


def _object_limit(data: memoryview) -> int:
    """Where the stream ends after ``MAX_TNEF_OBJECTS`` attributes (its length when it has fewer)."""
    offset, count, size = 6, 0, len(data)
    while offset + _MIN_OBJECT < size:
        if count == MAX_TNEF_OBJECTS:
            return offset
        length = _OBJECT_HEADER.unpack_from(data, offset)[3]
        offset += min(size - offset, length + 11)
        count += 1
    return size


@dataclass(slots=True)
class TnefContent:
    body_text: str = ""
    body_html: str = ""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    error: str | None = None  # nothing could be read, and why
    notes: list[str] = field(default_factory=list)  # what was capped, and how


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return decode_text(value.rstrip(b"\x00"), None)
    if isinstance(value, str):
        return value.rstrip("\x00")
    return ""


def expand_tnef(data: bytes) -> TnefContent:
    """The files and body inside a TNEF blob; ``error`` says why nothing could be read."""
    if len(data) > MAX_TNEF:
        return TnefContent(error="TNEF too large to expand")
    notes: list[str] = []
    try:
        logging.getLogger("tnefparse").setLevel(logging.ERROR)
        view = memoryview(data)
        limit = _object_limit(view)
        if limit < len(view):
            view = view[:limit]
            notes.append(f"TNEF has more than {MAX_TNEF_OBJECTS} attributes; the rest not read")
        tnef = _LinearTNEF(view)
    except Exception as exc:
        return TnefContent(error=f"TNEF unreadable: {type(exc).__name__}")
    content = TnefContent(body_text=_text(tnef.body), body_html=_text(tnef.htmlbody), notes=notes)
    if len(tnef.attachments) > _MAX_TNEF_FILES:
        content.notes.append(f"TNEF has more than {_MAX_TNEF_FILES} files; the rest not kept")
    for index, attachment in enumerate(tnef.attachments[:_MAX_TNEF_FILES], start=1):
        try:
            name = attachment.long_filename() or attachment.name or ""
        except Exception:
            name = ""
        if isinstance(name, bytes):
            name = decode_text(name.rstrip(b"\x00"), None)
        payload = attachment.data if isinstance(attachment.data, bytes) else b""
        content.files.append((str(name).strip("\x00 ") or f"attachment-{index}.bin", payload))
    return content
