"""Building ``Attachment`` values: filenames decoded or generated, payload hashed."""

from __future__ import annotations

import hashlib
import mimetypes

from inbound.mime.controls import filename_text
from inbound.mime.model import Attachment

_EXTENSIONS = {
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "application/octet-stream": ".bin",
}


def extension_for(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type, strict=False) or ".bin"


def clean_filename(name: str) -> str:
    """A filename safe to show and store: no path, no control characters or bidirectional controls (see
    :mod:`inbound.mime.controls`), bounded length."""
    name = filename_text(name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else name[:200]
    return name


def guess_content_type(filename: str, declared: str) -> str:
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or declared or "application/octet-stream"


def make_attachment(
    payload: bytes,
    *,
    filename: str,
    content_type: str,
    inline: bool,
    content_id: str,
    index: int,
    signature: bool = False,
) -> Attachment:
    name = clean_filename(filename) or f"attachment-{index}{extension_for(content_type)}"
    return Attachment(
        filename=name,
        content_type=guess_content_type(name, content_type),
        size=len(payload),
        inline=inline,
        content_id=content_id,
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
        signature=signature,
    )
