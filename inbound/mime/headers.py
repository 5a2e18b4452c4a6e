"""Header sections: splitting, unfolding, RFC 2047 words, RFC 2231 parameters, addresses, ids and dates.

Everything here is capped (see ``limits``) and tolerant: malformed input gives empty results, not errors.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from inbound.mime.charsets import decode_8bit_values, decode_text
from inbound.mime.controls import header_text
from inbound.mime.header_recovery import (
    FIELD_NAME,
    MAX_STRAY_LINES,
    header_block_follows,
    is_mbox_from,
    leading_header_start,
)
from inbound.mime.limits import (
    MAX_ADDRESSES,
    MAX_ENCODED_WORDS,
    MAX_HEADER_BLOCK,
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    MAX_REFERENCES,
)
from inbound.mime.model import Address

# RFC 2047 §2 forbids white space inside an encoded-word, but real clients fold long words and write a
# leading space in the text, and every receiving client decodes them: the text may hold spaces and tabs.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_WORD_GAP = re.compile(r"^[ \t\r\n]+$")
_MSGID = re.compile(r"<\s*([^<>\s]+?)\s*>")


class HeaderSection:
    """The parsed header fields of one entity, in order, with names as written."""

    __slots__ = ("_by_name", "defects", "fields", "raw8", "truncated")

    def __init__(
        self,
        fields: list[tuple[str, str]],
        truncated: bool,
        raw8: dict[int, bytes] | None = None,
        defects: tuple[str, ...] = (),
    ) -> None:
        self.fields = fields
        self.truncated = truncated
        self.raw8 = raw8 or {}  # the undeclared 8-bit values as read, by field index
        self.defects = defects  # what was skipped to read the section (lines before it, stray lines in it)
        self._by_name: dict[str, list[str]] | None = None  # lower-case name → values, built when first asked

    def _values(self, name: str) -> list[str]:
        if self._by_name is None:
            by_name: dict[str, list[str]] = {}
            for key, value in self.fields:
                by_name.setdefault(key.lower(), []).append(value)
            self._by_name = by_name
        return self._by_name.get(name.lower(), [])

    def redecoded(self, declared: str | None) -> HeaderSection:
        """The same section with its raw 8-bit values decoded under ``declared`` (the body's charset)."""
        if not self.raw8 or not declared:
            return self
        fields = list(self.fields)
        for index, text in _decode_raw8(self.raw8, declared).items():
            fields[index] = (fields[index][0], text)
        return HeaderSection(fields, self.truncated, self.raw8, self.defects)

    def get(self, name: str, default: str = "") -> str:
        values = self._values(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._values(name))

    def __contains__(self, name: str) -> bool:
        return bool(self._values(name))


def split_entity(data: bytes, start: int, end: int, *, whole_message: bool = False) -> tuple[HeaderSection, int, bool]:
    """Read the header section of the entity at ``raw[start:end]``.

    Returns the headers, the offset where the body starts, and whether no header at all was found.
    ``>From `` lines and mbox ``From_`` lines are skipped (a ``From `` first line always); a line that is not a
    header ends the section unless a clear header section follows it, and for a ``whole_message`` blank or junk
    lines before the first header are skipped when one follows them (see ``header_recovery``). What was skipped
    is in the section's ``defects``.
    """
    defects: list[str] = []
    if whole_message:
        found = leading_header_start(data, start, end)
        if found is not None:
            defects.append("lines before the header section skipped")
            start = found
    limit = min(end, start + MAX_HEADER_BLOCK)
    fields: list[tuple[str, bytes]] = []
    truncated = False
    pos = start
    name: str | None = None
    value_parts: list[bytes] = []
    value_len = 0
    stray = 0

    def flush() -> None:
        nonlocal truncated
        if name is None:
            return
        if len(fields) >= MAX_HEADERS:
            truncated = True
            return
        fields.append((name, b"".join(value_parts)))

    def section() -> HeaderSection:
        return _section(fields, truncated, defects)

    first = True
    while pos < end:
        nl = data.find(b"\n", pos, end)
        line_end = end if nl < 0 else nl
        next_pos = end if nl < 0 else nl + 1
        line = data[pos:line_end] if line_end - pos <= MAX_HEADER_VALUE else data[pos : pos + MAX_HEADER_VALUE]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(b" \t"):
            flush()
            return section(), next_pos, first and not fields
        if pos >= limit:
            truncated = True
            flush()
            name = None
            # skip the rest of an oversized header section without decoding it
            return _section(fields, True, defects), _after_blank_line(data, pos, end), False
        if line[:1] in (b" ", b"\t") and name is not None:
            if value_len < MAX_HEADER_VALUE:
                value_parts.append(line)
                value_len += len(line)
            else:
                truncated = True
        else:
            match = FIELD_NAME.match(line)
            if match is None:
                if (first and line.startswith(b"From ")) or line.startswith(b">From ") or is_mbox_from(line):
                    pos = next_pos  # mbox separator line, or one quoted by an MTA (mutt skips both)
                    first = False
                    continue
                if not first and stray < MAX_STRAY_LINES:
                    flush()
                    name = None
                    seen = {n.lower() for n, _ in fields}
                    if header_block_follows(data, next_pos, end, seen):
                        stray += 1
                        _add(defects, "non-header line in the header section skipped")
                        pos = next_pos
                        continue
                # not a header: the body starts here (the blank separator line is missing; Python's email parser
                # records the same as MissingHeaderBodySeparatorDefect)
                flush()
                if fields:
                    _add(defects, "no blank line after the header section")
                return section(), pos, first and not fields
            flush()
            name = line[: match.end() - 1].rstrip(b" \t").decode("ascii", "replace")
            rest = line[match.end() :]
            value_parts = [rest]
            value_len = len(rest)
        first = False
        pos = next_pos
    flush()
    return section(), end, first and not fields


def _add(items: list[str], text: str) -> None:
    if text not in items:
        items.append(text)


def _after_blank_line(data: bytes, pos: int, end: int) -> int:
    """The offset just after the next empty line (LF or CRLF endings), or ``end``."""
    found = [i + n for i, n in ((data.find(b"\n\n", pos, end), 2), (data.find(b"\n\r\n", pos, end), 3)) if i >= 0]
    return min(found) if found else end


_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


def _section(raw_fields: list[tuple[str, bytes]], truncated: bool, defects: list[str] | None = None) -> HeaderSection:
    """Header text from raw values. RFC 5322 headers are ASCII; raw 8-bit values (RFC 6532 UTF-8, or a
    legacy charset written by an old client) are decoded by :func:`_decode_raw8` under the entity's own
    declared charset, if any."""
    fields: list[tuple[str, str]] = []
    raw8: dict[int, bytes] = {}
    declared: str | None = None
    for index, (name, value) in enumerate(raw_fields):
        value = value[:MAX_HEADER_VALUE]
        if value.isascii():
            text = value.decode("ascii")
            if declared is None and name.lower() == "content-type":
                match = _CHARSET_PARAM.search(text)
                declared = match.group(1) if match else None
        else:
            raw8[index] = value
            text = ""
        fields.append((name, _unfold(text)))
    for index, text in _decode_raw8(raw8, declared).items():
        fields[index] = (fields[index][0], text)
    return HeaderSection(fields, truncated, raw8, tuple(defects or ()))


def _unfold(text: str) -> str:
    return text.replace("\r", "").replace("\n", "").strip()


def _decode_raw8(raw8: dict[int, bytes], declared: str | None) -> dict[int, str]:
    return {index: _unfold(text) for index, text in decode_8bit_values(raw8, declared).items()}


def _decode_word(charset: str, encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        payload = "".join(payload.split()).rstrip("=")
        payload += "=" * (-len(payload) % 4)
        try:
            return binascii.a2b_base64(payload.encode("ascii", "ignore"))
        except (binascii.Error, ValueError):
            return b""
    raw = payload.replace("_", " ").encode("ascii", "replace")
    try:
        return binascii.a2b_qp(raw)
    except (binascii.Error, ValueError):
        return raw


def decode_words(value: str, limit: int = MAX_HEADER_VALUE) -> str:
    """Decode RFC 2047 encoded words; adjacent words of one charset are joined before decoding."""
    if len(value) > limit:
        value = value[:limit]
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0

    def flush_pending() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_text(b"".join(pending), pending_charset or "utf-8"))
        pending, pending_charset = [], ""

    for count, match in enumerate(_ENCODED_WORD.finditer(value), start=1):
        gap = value[pos : match.start()]
        if gap and not (pending and _WORD_GAP.match(gap)):
            flush_pending()
            out.append(gap)
        if count > MAX_ENCODED_WORDS:
            flush_pending()
            pos = match.start()
            break
        charset = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        if pending and charset.lower() != pending_charset.lower():
            flush_pending()
        pending_charset = charset
        pending.append(_decode_word(charset, match.group(2), match.group(3)))
        pos = match.end()
    else:
        flush_pending()
        out.append(value[pos:])
        return "".join(out)
    flush_pending()
    return "".join(out)


def _split_params(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    elif value.startswith('"'):
        value = value[1:]
    return value


def parse_parameterised(value: str) -> tuple[str, dict[str, str]]:
    """``Content-Type``/``Content-Disposition``: the lower-cased main value and decoded parameters.

    RFC 2231 continuations (``name*0*=``) and charsets (``name*=utf-8''...``) are joined and decoded;
    RFC 2047 words inside quoted values (as Outlook writes them) are decoded too.
    """
    value = value[:MAX_HEADER_VALUE]
    pieces = _split_params(value)
    main = pieces[0].strip().lower()
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:200]:
        if "=" not in piece:
            continue
        key, _, raw = piece.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        match = re.fullmatch(r"([^*]+)\*(?:(\d{1,3})\*?)?", key)
        if match:
            base, index = match.group(1), int(match.group(2) or 0)
            sections.setdefault(base, {})[index] = (raw.strip(), key.endswith("*"))
        elif key not in plain:
            plain[key] = decode_words(_unquote(raw))
    for base, parts in sections.items():
        charset = ""
        chunks: list[bytes] = []
        for index in sorted(parts):
            raw, extended = parts[index]
            if extended:
                raw = _unquote(raw)
                if index == 0 and raw.count("'") >= 2:
                    charset, _, raw = raw.split("'", 2)
                chunks.append(unquote_to_bytes(raw))
            else:
                chunks.append(_unquote(raw).encode("utf-8"))
        plain[base] = decode_text(b"".join(chunks), charset or "utf-8")
    return main, plain


def parse_addresses(value: str) -> tuple[Address, ...]:
    """An address-list header to addresses, names from display names or RFC 822 comments.

    The list is split on its own commas first; encoded-words are then decoded inside each mailbox before
    it is parsed (an encoded-word may hold the angle-addr, as some senders write it), but decoded text
    always stays a name: its commas and brackets never make another address.
    A mailbox with no phrase takes its comment as the name (``user@host (Full Name)``).
    """
    if not value:
        return ()
    value = value[:MAX_HEADER_VALUE]
    simple = _simple_addresses(value)
    return simple if simple is not None else _general_addresses(value)


def _general_addresses(value: str) -> tuple[Address, ...]:
    """parse_addresses for any list: split on its own commas, each mailbox decoded and parsed."""
    result: list[Address] = []
    for segment in _mailbox_segments(value):
        if len(result) >= MAX_ADDRESSES:
            break
        address = _parse_mailbox(segment)
        if address is not None:
            result.append(address)
    return tuple(result)


# The plain shapes nearly every header has: ``addr@host`` and ``Display Name <addr@host>``, names without quotes,
# comments, encoded-words or specials. Both patterns are linear: each class excludes the character that ends it.
_SIMPLE_ANGLE = re.compile(r"([^\"\\()<>\[\],;:@]*)<([^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+)>")
_SIMPLE_SPEC = re.compile(r"[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+")
_NOT_SIMPLE = re.compile(r'["\\():;]|=\?')
_ASCII_SPACE = re.compile(r"[ \t\r\n]+")


def _simple_addresses(value: str) -> tuple[Address, ...] | None:
    """The addresses of a list made only of plain mailboxes, as the general parser reads them (without its
    character-by-character passes); None when any part is not plain (the general parser then reads it all)."""
    if _NOT_SIMPLE.search(value):
        return None
    result: list[Address] = []
    for piece in value.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if len(result) >= MAX_ADDRESSES:
            break
        angle = _SIMPLE_ANGLE.fullmatch(piece)
        if angle is not None:
            # words split on ASCII white space only, as the general parser's phrase reading does
            name = header_text(" ".join(word for word in _ASCII_SPACE.split(angle[1]) if word)).strip().strip('"')
            name, email = name.strip(), angle[2]
            result.append(Address(name="" if name == email else name, email=email))
        elif _SIMPLE_SPEC.fullmatch(piece):
            result.append(Address(name="", email=piece))
        else:
            return None
    return tuple(result)


_NOT_GROUP_NAME = frozenset('"<>()@')
_ANGLE_ADDR_END = re.compile(r"^(.*?)\s*<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$", re.DOTALL)
_ADDR_SPEC = re.compile(r"^[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+$")


def _mailbox_segments(value: str) -> list[str]:
    """The list split on commas outside quotes, comments and angle brackets; group names and ``;`` dropped."""
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth = angle = 0
    pos = 0
    phrase_only = True  # nothing yet that a group's display name cannot hold
    while pos < len(value):
        char = value[pos]
        if not (quoted or depth or escaped) and value.startswith("=?", pos):
            match = _WORD_RUN.match(value, pos)
            if match:  # an encoded-word is one atom: its commas and brackets are text
                current.append(match.group(0))
                phrase_only = False
                pos = match.end()
                continue
        pos += 1
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth:
            pass
        elif char == "<":
            angle += 1
        elif char == ">" and angle:
            angle -= 1
        elif char in ",;" and not angle:
            segments.append("".join(current))
            current = []
            phrase_only = True
            continue
        elif char == ":" and not angle and phrase_only:
            current = []  # a group's display name: its members follow
            continue
        if char in _NOT_GROUP_NAME:
            phrase_only = False
        current.append(char)
    segments.append("".join(current))
    return [s for s in (seg.strip() for seg in segments) if s]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape_comment(text: str) -> str:
    return re.sub(r"([()\\])", r"\\\1", text)


def _decode_mailbox_words(segment: str) -> tuple[str, list[str]]:
    """The mailbox with encoded-words outside quoted strings decoded (and made safe), and its comments' text."""
    out: list[str] = []
    comments: list[str] = []
    comment: list[str] = []
    quoted = escaped = angle = False
    depth = 0
    pos = 0
    has_angle = "<" in _WORD_RUN.sub("", segment)
    while pos < len(segment):
        char = segment[pos]
        if not (quoted or escaped or angle) and segment.startswith("=?", pos):
            match = _WORD_RUN.match(segment, pos)
            if match:
                decoded = header_text(decode_words(match.group(0)))  # a decoded line break ends no mailbox
                if depth:
                    comment.append(decoded)
                    out.append(_escape_comment(decoded))
                else:
                    out.append(_word_as_phrase(decoded, has_angle))
                pos = match.end()
                continue
        pos += 1
        if escaped:
            escaped = False
            if depth:
                comment.append(char)
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted = True
        elif char == "(":
            if depth:
                comment.append(char)
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth:
                comment.append(char)
            else:
                comments.append("".join(comment).strip())
                comment = []
        elif depth:
            comment.append(char)
        elif char in "<>":
            angle = char == "<"  # an addr-spec is never decoded (RFC 2047 §5 (3))
        out.append(char)
    if comment:
        comments.append("".join(comment).strip())
    return "".join(out), [c for c in comments if c]


_WORD_RUN = re.compile(_ENCODED_WORD.pattern + r"(?:[ \t]*" + _ENCODED_WORD.pattern + r")*")


def _word_as_phrase(decoded: str, has_angle: bool) -> str:
    """Decoded phrase text as mailbox syntax: a trailing angle-addr it carries is kept, the rest is quoted."""
    match = _ANGLE_ADDR_END.match(decoded)
    if match and not has_angle:
        name = match.group(1).strip().strip('"').strip()
        return (_quote(name) + " " if name else "") + f"<{match.group(2)}>"
    if not has_angle and _ADDR_SPEC.match(decoded.strip()):
        return decoded.strip()
    return _quote(decoded)


def _without_comments(text: str) -> str:
    out: list[str] = []
    quoted = escaped = False
    depth = 0
    for char in text:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted = True
        elif char == "(":
            depth += 1
            continue
        elif char == ")" and depth:
            depth -= 1
            out.append(" ")
            continue
        if not depth:
            out.append(char)
    return "".join(out)


def _parse_mailbox(segment: str) -> Address | None:
    prepared, comments = _decode_mailbox_words(segment)
    try:
        pairs = getaddresses([_without_comments(prepared)])
    except Exception:
        return None
    pairs = [(n, e.strip()) for n, e in pairs if e.strip()]
    if not pairs:
        return None
    name, email = pairs[0]
    name = header_text(decode_words(name)).strip().strip('"').strip()
    if not name and comments:
        name = " ".join(comments)  # RFC 822 style: ``user@host (Full Name)``
    if name == email:
        name = ""
    return Address(name=name, email=email)


def parse_message_ids(value: str, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """Message ids without angle brackets; a bare id (no brackets at all) is kept as written."""
    if not value:
        return ()
    found = _MSGID.findall(value[:MAX_HEADER_VALUE])
    if found:
        return tuple(found[:limit])
    bare = value.strip().split()
    return tuple(bare[:limit])


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date to an aware datetime (UTC when the zone is unknown); None when unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value[:200])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
