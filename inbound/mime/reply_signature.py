"""Signature removal for the newly written part of a reply.

Removes, from the end of the text: everything after a ``-- `` delimiter line, mobile sign-offs ("Sent
from my iPhone", "Von meinem iPhone gesendet", "Get Outlook for Android", ...), mailing-list footers
under a ``______`` rule, and a closing valediction ("Best regards," / "Mit freundlichen Grüßen" /
"Med venlig hilsen" / ...) followed only by a few short lines (name, title, phone). Never empties the
text: when everything would go, the input is returned unchanged.
"""

from __future__ import annotations

from inbound.mime.reply_patterns import (
    HYPHEN_NAME,
    LIST_FOOTER,
    MOBILE_SIGNOFF,
    SIG_DELIMITER,
    VALEDICTION,
)

MAX_SIGNATURE_LINES = 20  # a "-- " block longer than this is probably not a signature
MAX_VALEDICTION_TAIL = 6  # name/title/company/phone lines allowed after "Regards,"
MAX_TAIL_LINE = 70


def _trim(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _nonblank(lines: list[str]) -> int:
    return sum(1 for line in lines if line.strip())


def _cut_delimiter(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index and SIG_DELIMITER.match(line) and _nonblank(lines[:index]):
            if _nonblank(lines[index + 1 :]) <= MAX_SIGNATURE_LINES:
                return lines[:index]
            return lines
    return lines


def _cut_footer(lines: list[str]) -> list[str]:
    for index in range(len(lines) - 1, 0, -1):
        if LIST_FOOTER.match(lines[index]):
            if _nonblank(lines[index + 1 :]) <= 8 and _nonblank(lines[:index]):
                return lines[:index]
            return lines
    return lines


def _cut_valediction(lines: list[str]) -> list[str]:
    seen = 0
    for index in range(len(lines) - 1, 0, -1):
        line = lines[index].strip()
        if not line:
            continue
        if VALEDICTION.match(line):
            tail = [t.strip() for t in lines[index + 1 :] if t.strip()]
            if (
                len(tail) <= MAX_VALEDICTION_TAIL
                and all(len(t) <= MAX_TAIL_LINE and len(t.split()) <= 8 for t in tail)
                and _nonblank(lines[:index])
            ):
                return lines[:index]
            return lines
        seen += 1
        if seen > MAX_VALEDICTION_TAIL:
            return lines
    return lines


def _cut_tail_lines(lines: list[str]) -> list[str]:
    lines = _trim(lines)
    while lines and _nonblank(lines) > 1:
        last = lines[-1]
        if MOBILE_SIGNOFF.match(last) or (HYPHEN_NAME.match(last) and (len(lines) < 2 or not lines[-2].strip())):
            lines = _trim(lines[:-1])
        else:
            break
    return lines


def strip_signature_lines(lines: list[str]) -> list[str]:
    """The lines without a trailing signature; the input itself when nothing would be left."""
    result = _trim(lines)
    for _ in range(4):
        before = len(result)
        result = _cut_tail_lines(_cut_delimiter(result))
        result = _cut_tail_lines(_cut_footer(result))
        result = _cut_tail_lines(_cut_valediction(result))
        if len(result) == before:
            break
    return result if _nonblank(result) else lines


def strip_signature(text: str) -> str:
    """``text`` without its trailing signature / sign-off / valediction block (never empties it)."""
    try:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(strip_signature_lines(lines)).strip("\n")
    except Exception:  # pragma: no cover - defensive: never raise on mail content
        return text
