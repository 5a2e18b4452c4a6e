"""What the sender newly wrote: quoted history, forwarded trailers' headers and signatures removed.

``extract_reply(body_text, body_html="")`` is pure and never raises. The text is read line by line:

* a *hard* marker ends the new text: "-----Original Message-----" (and translations), an Outlook
  ``From:/Sent:/To:/Subject:`` block (localized), an attribution line ("On <date>, <name> wrote:", "Am …
  schrieb …:", "Le … a écrit :", "…写道：", …) followed by unquoted history, or an HTML history container;
* ``>``-quoted blocks are removed together with their attribution line, and text after them is kept
  (bottom-posting / interleaved answers), unless the message is clearly top-posted with more history
  below;
* a "reply above this line" marker (the top of one of our notifications, or a helpdesk's) ends the new text
  whatever surrounds it, quoted or not: what is above it, less the header block or attribution a client wrote
  there, is the reply (unless nothing is left: then the rules below decide, e.g. for an answer written below a
  quoted notification);
* a *forward* marker ("---------- Forwarded message ---------", "Begin forwarded message:", …) keeps
  the forwarded content: forwarding is the point of such a message;
* the signature of the new text is removed (``reply_signature``);
* a message with nothing new (entirely quoted) yields its quoted content, de-quoted.

When ``body_html`` is given, its structure (blockquote, Gmail/Outlook/Apple/Thunderbird/Yahoo quote
containers) is turned into the same line form first (``reply_html``) and takes precedence over the text.
Only the first ``SCAN_LIMIT`` characters are searched for markers, so huge bodies stay fast.
"""
# ruff: noqa: RUF001, RUF002  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

import re
from dataclasses import dataclass

from inbound.mime.reply_html import MAX_HTML, html_to_marked_text
from inbound.mime.reply_patterns import (
    ATTR_MARK,
    ATTRIBUTION_CJK,
    ATTRIBUTION_CLOSER,
    ATTRIBUTION_NO_VERB,
    ATTRIBUTION_VERB_DATE,
    ATTRIBUTION_VERB_END,
    ATTRIBUTION_VERB_MID,
    DATE,
    DATE_OR_ADDRESS,
    DEVICE_WORD,
    FORWARD_MARKER,
    GENERIC_HEADER,
    HEADER_ANY,
    HEADER_FROM,
    MARK_TABLE,
    MARKS,
    MAX_LINE,
    MOBILE_SIGNOFF,
    OPEN_ADDRESS_END,
    ORIGINAL_SEPARATOR,
    QUOTED,
    REPLY_ABOVE_MARKER,
    SEPARATOR_LINE,
    STRONG_MARK,
    TIME,
    WEAK_MARK,
    YEAR,
    ZERO_WIDTH,
)
from inbound.mime.reply_signature import strip_signature, strip_signature_lines
from inbound.mime.subject_patterns import is_forward_subject

__all__ = ["ReplyParts", "extract_reply", "parse_reply", "strip_signature"]

SCAN_LIMIT = 2_000_000  # characters searched for markers
MAX_ATTRIBUTION = 300  # characters of an attribution line (or of each of its up to 3 wrapped lines)
_BLANK_GAP = 8
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")
_SOFT_BREAK = re.compile(r"=\n(?:> ?)*")
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u200e\u200f\xa0\u3000 \t"
_MARK_RE = re.compile("[\ue000-\ue002]")
_RULE_START = "-_=>*"
_SENTENCE_END = (",", ".", "!", "?", ";")  # blank lines allowed between an attribution and the quote it introduces


@dataclass(frozen=True)
class ReplyParts:
    """The result of reply extraction with what was found."""

    text: str
    is_forward: bool = False
    had_history: bool = False  # a quote / separator / attribution was found and removed


@dataclass
class _Scan:
    kind: str = "none"  # none | cut | forward
    index: int = -1  # line of the marker
    end: int = -1  # first line after the marker block
    first_quote_attr: int = -1  # first attribution that introduces a '>' block


# -- line helpers -----------------------------------------------------------------------------------
def _blank(line: str) -> bool:
    return not line.strip().strip(_INVISIBLE)


def _quoted(line: str) -> bool:
    return bool(QUOTED.match(line))


def _dequote(line: str) -> str:
    stripped = line.lstrip(" \t")
    if stripped.startswith(">"):
        stripped = stripped[1:]
        return stripped[1:] if stripped.startswith(" ") else stripped
    return line


def _is_attribution(joined: str) -> bool:
    if len(joined) > 3 * MAX_ATTRIBUTION:
        return False
    tail = joined[-MAX_ATTRIBUTION:]
    return bool(
        ATTRIBUTION_VERB_END.search(tail[-80:])
        or ATTRIBUTION_VERB_MID.search(tail)
        or ATTRIBUTION_CJK.search(tail[-40:])
        or ATTRIBUTION_VERB_DATE.search(tail)
        or (ATTRIBUTION_NO_VERB.search(tail) is not None and _year_and_time(tail))
    )


def _year_and_time(text: str) -> bool:
    return YEAR.search(text) is not None and TIME.search(text) is not None


def _weak_attribution(joined: str) -> bool:
    """A line ending with ':' that names a date or an address (Gmail ja/ru, Yandex, Mail.ru forms)."""
    text = joined.rstrip()
    return text.endswith((":", "：")) and bool(DATE_OR_ADDRESS.search(text))


def _attribution_at(lines: list[str], i: int, limit: int) -> int:
    """Last line of an attribution starting at line i (joined over up to 3 lines), or -1."""
    if not any(line.rstrip().endswith((":", "：")) for line in lines[i : min(i + 3, limit)]):
        return -1
    parts: list[str] = []
    for k in range(3):
        j = i + k
        if j >= limit or _blank(lines[j]) or _quoted(lines[j]):
            return -1
        part = lines[j].strip()
        if len(part) > MAX_ATTRIBUTION or part in MARKS:
            return -1
        if k == 0 and part.endswith(_SENTENCE_END) and not part.endswith((":", "：")):
            return -1
        parts.append(part)
        if part.endswith((":", "：")):
            joined = " ".join(parts).translate(ZERO_WIDTH)
            if not _is_attribution(joined):
                return -1
            shorter = " ".join(parts[1:]).translate(ZERO_WIDTH)
            if k and _is_attribution(shorter) and DATE.search(shorter):
                return -1  # the attribution starts on a later line ("Hello" above it is the reply)
            return j
    return -1


def _next_nonblank(lines: list[str], start: int, gap: int = _BLANK_GAP) -> int:
    j = start
    while j < len(lines) and _blank(lines[j]) and j - start <= gap:
        j += 1
    return j if j < len(lines) and not _blank(lines[j]) else -1


def _header_block_end(lines: list[str], i: int, limit: int) -> int:
    """End (exclusive) of an e-mail header block starting at line i, or -1 when it is not one."""
    if not HEADER_ANY.match(lines[i]):
        return -1
    count, has_from, from_has_address, end, blanks = 0, False, False, i, 0
    for j in range(i, min(limit, i + 12)):
        line = lines[j]
        if _blank(line):
            blanks += 1
            if blanks > 1 or count >= 2:
                break
            continue
        blanks = 0
        if HEADER_ANY.match(line):
            count += 1
            end = j + 1
            if HEADER_FROM.match(line):
                has_from = True
                from_has_address = "@" in line or "mailto" in line.lower()
        elif count and j == end:
            end = j + 1  # wrapped header value
        else:
            break
    if has_from and (count >= 3 or (count == 2 and from_has_address)):
        return end
    return -1


def _generic_header_follows(lines: list[str], i: int, limit: int) -> bool:
    count = 0
    for j in range(i + 1, min(limit, i + 10)):
        if GENERIC_HEADER.match(lines[j].translate(MARK_TABLE)):
            count += 1
            if count >= 2:
                return True
    return False


def _forward_near(lines: list[str], i: int, limit: int) -> bool:
    seen = 0
    for j in range(i, min(limit, i + 8)):
        text = lines[j].translate(MARK_TABLE)
        if not text.strip():
            continue
        if FORWARD_MARKER.match(text):
            return True
        seen += 1
        if seen >= 3:
            break
    return False


def _device_signoff(lines: list[str], i: int, limit: int) -> bool:
    """Line i is a phone/app sign-off ("Sent from my iPhone") below new text, with more (unquoted) lines after it
    that are not a forward: what follows is the history a mobile client appended."""
    text = lines[i].strip()
    if len(text) > 120 or not MOBILE_SIGNOFF.match(text) or not DEVICE_WORD.search(text):
        return False
    if not any(not _blank(line) and line.strip() not in MARKS for line in lines[:i]):
        return False
    after = _next_nonblank(lines, i + 1)
    return after >= 0 and not _quoted(lines[after]) and not _forward_near(lines, after, limit)


def _join_closers(lines: list[str]) -> list[str]:
    """Attribution lines whose closing ``>:`` (or ``> wrote:``) was wrapped onto a line of its own, joined back
    ("... Hans Müller <hans@example.de" / ">:"), so the closer is not taken for a quoted line. Only after a line
    that ends inside an open ``<address``."""
    if not any(ATTRIBUTION_CLOSER.match(line) for line in lines[:50_000]):
        return lines
    out: list[str] = []
    for line in lines:
        previous = out[-1].rstrip() if out else ""
        if ATTRIBUTION_CLOSER.match(line) and OPEN_ADDRESS_END.search(previous[-400:]) and not _quoted(previous):
            out[-1] = previous + line.strip()
            continue
        out.append(line)
    return out


# -- scanning ---------------------------------------------------------------------------------------
def _scan(lines: list[str], limit: int) -> _Scan:
    scan = _Scan()
    previous_quoted = False
    i = 0
    while i < limit:
        line = lines[i]
        if _blank(line):
            i += 1
            continue
        if _quoted(line):
            starts_block = not previous_quoted and scan.first_quote_attr < 0 and len(line) <= MAX_LINE
            if starts_block and FORWARD_MARKER.match(line):  # Apple Mail: "> Begin forwarded message:"
                return _Scan("forward", i, i, scan.first_quote_attr)
            previous_quoted = True
            i += 1
            continue
        previous_quoted = False
        text = line.strip()
        if len(text) > MAX_LINE:
            i += 1
            continue
        if text == STRONG_MARK:
            kind = "forward" if _forward_near(lines, i + 1, limit) else "cut"
            return _Scan(kind, i, i + 1, scan.first_quote_attr)
        if text == WEAK_MARK:
            if _generic_header_follows(lines, i, limit):
                kind = "forward" if _forward_near(lines, i + 1, limit) else "cut"
                return _Scan(kind, i, i + 1, scan.first_quote_attr)
            i += 1
            continue
        if text == ATTR_MARK:
            i += 1
            continue
        if text[0] in _RULE_START or len(text) < 80:
            if FORWARD_MARKER.match(text):
                return _Scan("forward", i, i + 1, scan.first_quote_attr)
            if ORIGINAL_SEPARATOR.match(text):
                kind = "forward" if _forward_near(lines, i + 1, limit) else "cut"
                return _Scan(kind, i, i + 1, scan.first_quote_attr)
        if _device_signoff(lines, i, limit):
            return _Scan("cut", i + 1, i + 1, scan.first_quote_attr)
        head = text[:40]
        if ":" in head or "：" in head:
            end = _header_block_end(lines, i, limit)
            if end > 0:
                return _Scan("cut", i, end, scan.first_quote_attr)
        attr_end = _attribution_at(lines, i, limit)
        if attr_end >= 0:
            after = _next_nonblank(lines, attr_end + 1)
            if after >= 0 and _quoted(lines[after]):
                if scan.first_quote_attr < 0:
                    scan.first_quote_attr = i
                i = attr_end + 1
                continue
            joined = " ".join(part.strip() for part in lines[i : attr_end + 1])
            if DATE_OR_ADDRESS.search(joined):
                return _Scan("cut", i, attr_end + 1, scan.first_quote_attr)
        i += 1
    return scan


# -- interleaved quote removal ----------------------------------------------------------------------
def _pop_attribution(out: list[str]) -> None:
    """Remove the attribution (and an ATTR_MARK) at the tail of ``out``, before a quoted block."""
    end = len(out)
    while end and _blank(out[end - 1]):
        end -= 1
    start = end
    while start and end - start < 3 and not _blank(out[start - 1]) and not _quoted(out[start - 1]):
        if out[start - 1].strip() in MARKS:
            break
        start -= 1
    best = -1
    for s in range(end - 1, start - 1, -1):
        if s < end - 1 and out[s].rstrip().endswith(_SENTENCE_END):
            break  # "Hi," / "Thanks." above an attribution is the sender's text
        joined = " ".join(part.strip() for part in out[s:end]).translate(ZERO_WIDTH)
        if len(joined) <= 3 * MAX_ATTRIBUTION and (_is_attribution(joined) or _weak_attribution(joined)):
            best = s
            if DATE.search(joined):
                break  # complete: a date was reached; the lines above are the sender's
    if best >= 0:
        if best and out[best - 1].strip() == ATTR_MARK:
            best -= 1
        del out[best:]
        return
    if start and out[start - 1].strip() == ATTR_MARK and start < end:
        del out[start - 1 :]


def _remove_quotes(lines: list[str]) -> tuple[list[str], bool]:
    out: list[str] = []
    removed = False
    in_block = False
    for line in lines:
        if _quoted(line):
            if not in_block:
                _pop_attribution(out)
                in_block = True
            removed = True
            continue
        if in_block and _blank(line):
            continue
        if in_block and out and not _blank(out[-1]):
            out.append("")  # keep the text before and after a removed quote apart
        in_block = False
        out.append(line)
    return out, removed


# -- assembling -------------------------------------------------------------------------------------
def _clean(lines: list[str]) -> str:
    result: list[str] = []
    for raw in lines:
        line = (_MARK_RE.sub("", raw) if _MARK_RE.search(raw) else raw).rstrip()
        if _blank(line):
            if result and result[-1]:
                result.append("")
            continue
        result.append(line)
    while result and (not result[-1] or SEPARATOR_LINE.match(result[-1])):
        result.pop()
    while result and not result[0]:
        result.pop(0)
    return "\n".join(result)


def _new_text(lines: list[str]) -> tuple[str, bool]:
    kept, removed = _remove_quotes(lines)
    kept = [line for line in kept if line.strip() not in MARKS or not line.strip()]
    text = _clean(kept)
    if not text:
        return "", removed
    return "\n".join(strip_signature_lines(text.split("\n"))).strip("\n"), removed


def _forwarded(lines: list[str]) -> str:
    rest = [line for line in lines if line.strip() not in (STRONG_MARK, WEAK_MARK, ATTR_MARK)]
    if all(_quoted(line) or _blank(line) for line in rest):
        rest = [_dequote(line) for line in rest]
    return _clean(rest)


def _extract(lines: list[str], forward_hint: bool) -> tuple[str, bool, bool, int]:
    """(text, is_forward, had_history, resume-at line for the fallback)."""
    limit, total = 0, 0
    for limit, line in enumerate(lines):  # noqa: B007 - index used after the loop
        total += len(line) + 1
        if total > SCAN_LIMIT:
            break
    else:
        limit = len(lines)
    scan = _scan(lines, limit)
    kind = scan.kind
    if kind == "cut" and forward_hint:
        kind = "forward"
    if kind == "cut" and 0 <= scan.first_quote_attr < scan.index:
        head = [line for line in lines[: scan.first_quote_attr] if not _blank(line) and line.strip() not in MARKS]
        if len(head) >= 2:
            text, _removed = _new_text(lines[: scan.first_quote_attr])
            return text, False, True, scan.first_quote_attr
    if kind == "forward":
        new_text, _removed = _new_text(lines[: scan.index])
        forwarded = _forwarded(lines[scan.index :])
        return "\n\n".join(part for part in (new_text, forwarded) if part), True, True, len(lines)
    cut = scan.index if kind == "cut" else len(lines)
    text, removed = _new_text(lines[:cut])
    return text, False, removed or kind == "cut", (scan.end if kind == "cut" else -1)


def _reply_marker(lines: list[str]) -> int:
    """The line of the first "reply above this line" marker in the scanned part, or -1."""
    total = 0
    for index, line in enumerate(lines):
        total += len(line) + 1
        if total > SCAN_LIMIT:
            break
        if len(line) <= MAX_LINE and "above this line" in line.lower() and REPLY_ABOVE_MARKER.match(line):
            return index
    return -1


def _above_marker(lines: list[str]) -> list[str]:
    """The lines above a reply marker without what a client wrote right above the quoted notification: blank and
    empty quoted lines, a header block ("From: ... Sent: ..."), a separator rule (Outlook's line of underscores)."""
    end = len(lines)

    def skip_blank() -> None:
        nonlocal end
        while end and (_blank(lines[end - 1]) or lines[end - 1].strip(" \t>") == "" or lines[end - 1].strip() in MARKS):
            end -= 1

    skip_blank()
    start = end
    while start and end - start < 12 and not _blank(lines[start - 1]):
        start -= 1
    for index in range(end - 1, start - 1, -1):  # the last "From:" is the block's (the sender may write one too)
        if HEADER_FROM.match(lines[index]):
            end = index
            break
    skip_blank()
    while end and (SEPARATOR_LINE.match(lines[end - 1]) or ORIGINAL_SEPARATOR.match(lines[end - 1])):
        end -= 1
        skip_blank()
    return lines[:end]


def _fallback_lines(lines: list[str], resume: int) -> list[str]:
    if resume >= 0:
        return lines[resume:]
    return [_dequote(line) for line in lines]


def parse_reply(body_text: str, body_html: str = "", *, subject: str | None = None) -> ReplyParts:
    """Like :func:`extract_reply`, with what was found. ``subject`` (optional) tells forwards apart."""
    forward_hint = bool(subject) and is_forward_subject(subject or "")
    sources: list[str] = []
    has_text = bool(body_text and body_text.strip())
    if body_html and body_html.strip() and not (has_text and len(body_html) > MAX_HTML):
        sources.append(html_to_marked_text(body_html))  # a huge HTML part would be cut: prefer the text
    if has_text:
        sources.append(body_text.translate(MARK_TABLE))
    for source in sources:
        source = _undo_soft_breaks(source.replace("\r\n", "\n").replace("\r", "\n"))
        lines = _join_closers(source.split("\n"))
        marker = _reply_marker(lines)
        if marker > 0:
            text, is_forward, _history, _resume = _extract(_above_marker(lines[:marker]), forward_hint)
            if text.strip():
                return ReplyParts(text.strip(), is_forward, True)
        original = lines
        had_history = False
        for _ in range(4):
            text, is_forward, history, resume = _extract(lines, forward_hint)
            had_history = had_history or history
            if text.strip():
                return ReplyParts(text.strip(), is_forward, had_history)
            lines = _fallback_lines(lines, resume)
            if not any(not _blank(line) for line in lines):
                break
        text = _clean([_dequote(line) for line in original]).strip()
        if text:
            return ReplyParts(text, False, had_history)
    return ReplyParts((body_text or "").strip() or _plain(body_html), False, False)


def _undo_soft_breaks(text: str) -> str:
    """Join quoted-printable soft line breaks left in a body that was never decoded ("w=\\nrote:")."""
    head = text[:SCAN_LIMIT]
    if head.count("=\n") >= 3 and _QP_ESCAPE.search(head):
        return _SOFT_BREAK.sub("", text)
    return text


def _plain(html: str) -> str:
    return _clean(html_to_marked_text(html).split("\n")) if html else ""


def extract_reply(body_text: str, body_html: str = "", *, subject: str | None = None) -> str:
    """The newly written part of a message body (never raises; non-empty when the input has text)."""
    try:
        return parse_reply(body_text, body_html, subject=subject).text
    except Exception:  # defensive: mail content must never break ingestion
        return (body_text or "").strip() or (body_html or "").strip()
