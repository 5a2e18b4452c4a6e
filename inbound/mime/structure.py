"""The MIME tree, found by scanning boundaries over the raw bytes with caps on depth and part count.

No part body is copied while the tree is built: parts are offsets into the buffer they came from.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from inbound.mime.charsets import detect_8bit_charset, is_evidence_for_8bit, utf8_with_cuts
from inbound.mime.headers import HeaderSection, parse_parameterised, split_entity
from inbound.mime.limits import MAX_DEPTH, MAX_PARTS, TRANSFER_CHUNK
from inbound.mime.uuencode import decode_uu_block

_GUESS_BOUNDARY = re.compile(rb"^--([^\s]{1,200}?)[ \t]*\r?$", re.MULTILINE)
_ENCAPSULATED = frozenset({"message/rfc822", "message/global"})
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_B64_OTHERS = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_UU = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})


@dataclass(slots=True, eq=False)
class Part:
    """One MIME entity: its headers, type, and the span of its body in ``data``."""

    data: bytes
    headers: HeaderSection
    content_type: str
    params: dict[str, str]
    disposition: str
    disposition_params: dict[str, str]
    transfer_encoding: str
    start: int
    end: int
    depth: int
    children: list[Part] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return self.disposition_params.get("filename") or self.params.get("name") or ""

    @property
    def content_id(self) -> str:
        value = self.headers.get("Content-ID").strip()
        return value[1:-1].strip() if value.startswith("<") and value.endswith(">") else value

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    def raw_body(self) -> memoryview:
        return memoryview(self.data)[self.start : self.end]

    def payload(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone (tolerant of damage)."""
        return decode_transfer(self.raw_body(), self.transfer_encoding)

    def payload_pieces(self, chunk: int = TRANSFER_CHUNK) -> Iterator[bytes]:
        """:meth:`payload` in pieces (of about ``chunk`` encoded bytes each), for a reader that may stop early."""
        return iter_transfer(self.data, self.start, self.end, self.transfer_encoding, chunk)


@dataclass(slots=True)
class _Walk:
    count: int = 0
    notes: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Content was lost: a cap cut it, or it could not be read."""
        if text not in self.notes:
            self.notes.append(text)

    def defect(self, text: str) -> None:
        """The structure was damaged but repaired without losing content."""
        if text not in self.defects:
            self.defects.append(text)


def build_tree(raw: bytes) -> tuple[Part, list[str], list[str]]:
    """Parse ``raw`` into a tree of parts, with notes on what was lost (capped or unreadable) and the
    recoverable defects that were repaired without loss."""
    walk = _Walk()
    root = _entity(raw, 0, len(raw), 0, "text/plain", walk, whole_message=True)
    return root, walk.notes, walk.defects


def redecode_8bit_headers(root: Part, evidence: str | None) -> None:
    """Re-read the undeclared 8-bit header values of every part that declares no charset of its own (an
    attachment's raw 8-bit filename, a multipart message's raw subject) with the message's evidence, as mail
    readers do: ``evidence`` (the charset the body declares), else one detector's guess over all those values
    together. The parts' ``name`` and ``filename`` parameters are read again from the re-read values."""
    parts = [p for p in _parts(root) if p.headers.raw8 and not (p.charset and is_evidence_for_8bit(p.charset))]
    if not parts:
        return
    if not is_evidence_for_8bit(evidence):
        undecided = [v for p in parts for v in p.headers.raw8.values() if utf8_with_cuts(v) is None]
        joined = b"\n".join(undecided)[:65536]
        evidence = detect_8bit_charset(joined)
        if evidence is None:
            return
    for part in parts:
        part.headers = part.headers.redecoded(evidence)
        for header, params in (("Content-Type", part.params), ("Content-Disposition", part.disposition_params)):
            fresh = parse_parameterised(part.headers.get(header))[1]
            for key in ("name", "filename"):
                if key in fresh:
                    params[key] = fresh[key]


def _parts(root: Part) -> Iterator[Part]:
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        stack.extend(reversed(part.children))


def _entity(
    data: bytes, start: int, end: int, depth: int, default_type: str, walk: _Walk, *, whole_message: bool = False
) -> Part:
    """One entity; a ``whole_message`` (the message itself, or one enclosed in message/rfc822) may have lines
    before its header section."""
    walk.count += 1
    headers, body_start, _ = split_entity(data, start, end, whole_message=whole_message)
    if headers.truncated:
        walk.note("header section truncated")
    for defect in headers.defects:
        walk.defect(defect)
    ctype, params = parse_parameterised(headers.get("Content-Type"))
    if "/" not in ctype or " " in ctype:
        ctype, params = (default_type, {}) if not ctype else ("text/plain", params)
    disposition, disposition_params = parse_parameterised(headers.get("Content-Disposition"))
    encoding = headers.get("Content-Transfer-Encoding").strip().lower()
    part = Part(data, headers, ctype, params, disposition, disposition_params, encoding, body_start, end, depth)
    if ctype.startswith("multipart/"):
        _split_multipart(part, walk)
    elif ctype in _ENCAPSULATED:
        _enclose(part, walk)
    return part


def _split_multipart(part: Part, walk: _Walk) -> None:
    if part.depth >= MAX_DEPTH:
        walk.note(f"MIME nesting deeper than {MAX_DEPTH} not decoded")
        return
    data, start, end = part.data, part.start, part.end
    boundary = part.params.get("boundary", "").encode("utf-8", "replace")
    if not boundary:
        guess = _GUESS_BOUNDARY.search(data, start, min(end, start + 65536))
        if guess is None:
            walk.defect("multipart without boundary read as text")
            part.content_type, part.params = "text/plain", {}
            return
        boundary = guess.group(1)
        walk.defect("missing boundary guessed")
    delimiter = b"--" + boundary
    spans: list[tuple[int, int]] = []
    content_start: int | None = None
    closed = False
    idx = data.find(delimiter, start, end)
    while idx >= 0:
        after = idx + len(delimiter)
        following = data[after : after + 1]
        if following and following not in b"\r\n\t -":  # a longer boundary sharing this prefix
            idx = data.find(delimiter, after, end)
            continue
        if idx == start or data[idx - 1] == 0x0A:
            line_end = data.find(b"\n", after, end)
            line_end = end if line_end < 0 else line_end
            is_close = data.startswith(b"--", after)
            tail = data[after + (2 if is_close else 0) : min(line_end, after + 256)]
            if not tail.strip():
                if content_start is not None:
                    spans.append((content_start, _trim_eol(data, content_start, idx)))
                if is_close:
                    closed = True
                    break
                content_start = min(line_end + 1, end)
        idx = data.find(delimiter, after, end)
    if content_start is None:
        walk.defect("multipart without parts read as text")
        part.content_type, part.params = "text/plain", {}
        return
    if not closed:
        spans.append((content_start, end))
        walk.defect("missing final boundary")
    default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    for child_start, child_end in spans:
        if walk.count >= MAX_PARTS:
            walk.note(f"more than {MAX_PARTS} MIME parts; the rest not decoded")
            break
        part.children.append(_entity(part.data, child_start, child_end, part.depth + 1, default, walk))


def _trim_eol(data: bytes, start: int, idx: int) -> int:
    """The end of a part's content: the line break before the delimiter belongs to the delimiter."""
    if idx > start and data[idx - 1] == 0x0A:
        idx -= 1
        if idx > start and data[idx - 1] == 0x0D:
            idx -= 1
    return idx


def _enclose(part: Part, walk: _Walk) -> None:
    if part.depth >= MAX_DEPTH:
        walk.note(f"MIME nesting deeper than {MAX_DEPTH} not decoded")
        return
    if walk.count >= MAX_PARTS:
        walk.note(f"more than {MAX_PARTS} MIME parts; the rest not decoded")
        return
    data, start, end = part.data, part.start, part.end
    if part.transfer_encoding in {"base64", "quoted-printable"}:
        data = part.payload()
        start, end = 0, len(data)
    part.children.append(_entity(data, start, end, part.depth + 1, "text/plain", walk, whole_message=True))


def decode_transfer(body: memoryview | bytes, encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding; damaged input decodes as far as it goes, never raises."""
    if encoding == "base64":
        try:
            return binascii.a2b_base64(body)
        except (binascii.Error, ValueError):
            cleaned = bytes(b for b in bytes(body) if b in _B64_ALPHABET)
            cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
            try:
                return binascii.a2b_base64(cleaned)
            except (binascii.Error, ValueError):
                return b""
    if encoding == "quoted-printable":
        try:
            return binascii.a2b_qp(body)
        except (binascii.Error, ValueError):
            return bytes(body)
    if encoding in _UU:
        decoded = decode_uu_block(bytes(body))
        return decoded if decoded is not None else bytes(body)
    return bytes(body)


def iter_transfer(data: bytes, start: int, end: int, encoding: str, chunk: int = TRANSFER_CHUNK) -> Iterator[bytes]:
    """``decode_transfer(data[start:end], encoding)`` in pieces whose concatenation is exactly that result.

    Base64 is cut after a whole quantum (4 alphabet characters) where no ``=`` came before, quoted-printable
    after a line break (or, in one long line, where no escape is open): there both decoders are in their initial
    state, so the rest decodes as it would have in one go. Where no such cut is found, the rest is decoded at once.
    """
    body = memoryview(data)
    if encoding == "base64":
        pos = start
        while end - pos > 2 * chunk:
            cut = pos + chunk
            if data.find(b"=", pos, cut) >= 0:
                break
            extra = len(data[pos:cut].translate(None, _B64_OTHERS)) % 4
            while extra:  # step back over the incomplete quantum
                cut -= 1
                extra -= data[cut] in _B64_ALPHABET
            if cut <= pos:
                break
            yield binascii.a2b_base64(body[pos:cut])
            pos = cut
        yield decode_transfer(body[pos:end], encoding)
    elif encoding == "quoted-printable":
        pos = start
        while end - pos > 2 * chunk:
            cut = data.rfind(b"\n", pos, pos + chunk) + 1
            if cut <= pos:  # one long line: "=\r" hides everything up to the next line break
                cut = pos + chunk
                if data.find(b"=\r", pos, cut + 1) >= 0:
                    break
                while cut > pos and data.find(b"=", max(cut - 2, pos), cut) >= 0:  # not inside "=XX" or "=="
                    cut -= 1
                if cut <= pos:
                    break
            yield binascii.a2b_qp(body[pos:cut])
            pos = cut
        yield decode_transfer(body[pos:end], encoding)
    elif encoding in _UU:
        yield decode_transfer(body[start:end], encoding)
    else:
        for pos in range(start, end, chunk):
            yield bytes(body[pos : min(pos + chunk, end)])
