"""TNEF (``winmail.dat``, ``application/ms-tnef``) expanded into its real attachments and body."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from inbound.mime.charsets import decode_text
from inbound.mime.limits import MAX_TNEF

_MAX_TNEF_FILES = 200


@dataclass(slots=True)
class TnefContent:
    body_text: str = ""
    body_html: str = ""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    error: str | None = None


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
    try:
        # Imported on first use: few messages carry TNEF (winmail.dat), and the parser costs ~17 ms to import.
        from tnefparse import TNEF

        logging.getLogger("tnefparse").setLevel(logging.ERROR)
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:
        return TnefContent(error=f"TNEF unreadable: {type(exc).__name__}")
    content = TnefContent(body_text=_text(tnef.body), body_html=_text(tnef.htmlbody))
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
