"""uuencoded content: whole bodies (``Content-Transfer-Encoding: x-uuencode``) and blocks inside text."""

from __future__ import annotations

import binascii
import re

# The name is the rest of the line, stripped in Python (a lazy ``(.+?)\s*$`` is quadratic in a line of spaces).
_BEGIN = re.compile(r"^begin(?:-base64)? +([0-7]{3,4}) +(.+)$", re.MULTILINE)
_END = re.compile(r"^end\s*$", re.MULTILINE)


def _decode_lines(lines: list[bytes]) -> bytes:
    out: list[bytes] = []
    for line in lines:
        line = line.rstrip(b"\r\n")
        if not line or line in (b"`", b" "):
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # broken encoders pad badly: decode only the bytes the length character announces
            count = ((line[0] - 32) & 63) * 4 // 3
            try:
                out.append(binascii.a2b_uu(line[: count + 1]))
            except binascii.Error:
                continue
    return b"".join(out)


def decode_uu_block(body: bytes) -> bytes | None:
    """Decode a body that is one uuencoded file (``begin`` line optional); None when it is not one."""
    lines = body.splitlines()
    if lines and lines[0].startswith(b"begin "):
        lines = lines[1:]
    try:
        stop = next(i for i, line in enumerate(lines) if line.strip() == b"end")
        lines = lines[:stop]
    except StopIteration:
        pass
    decoded = _decode_lines(lines)
    return decoded or None


def extract_uu_blocks(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Find ``begin 644 name`` ... ``end`` blocks in text: the text without them, and (name, bytes) files.

    Linear: each ``end`` is searched for once from a ``begin``, and the ``begin`` lines inside that block are
    skipped whether it decoded or not (lines decode one by one, so a block inside an empty block is empty)."""
    if "begin " not in text:
        return text, []
    files: list[tuple[str, bytes]] = []
    kept: list[str] = []
    pos = 0
    scanned = 0  # begin lines before this are inside a block already tried
    for begin in _BEGIN.finditer(text):
        name = begin.group(2).strip()
        if begin.start() < scanned:
            continue
        end = _END.search(text, begin.end())
        if end is None:
            break
        scanned = end.start()
        block = text[begin.end() : end.start()]
        data = _decode_lines([line.encode("latin-1", "replace") for line in block.splitlines()])
        if not data:
            continue
        kept.append(text[pos : begin.start()])
        files.append((name, data))
        pos = end.end()
    kept.append(text[pos:])
    return "".join(kept), files
