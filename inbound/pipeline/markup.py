"""Text helpers of the pipeline: plain mail text as Markdown, and cutting a body at a mapping's delimiter."""

from __future__ import annotations

import re

from profiles.patterns import compiled

DELIMITER_FLAGS = re.IGNORECASE | re.MULTILINE  # as the mapping's body clean-ups: "^" and "$" are line ends

_LINE_END = re.compile(r"\r\n|\r|\n")  # CommonMark's line endings (not str.splitlines: \f or \u2028 stay text)
# ASCII punctuation after a backslash would make it an escape; at the end of a line it would be a hard break
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)")
_ALWAYS = re.compile(r"[*`<\[\]]")  # emphasis, code spans, autolinks and raw HTML, links and images
_UNDERSCORE = re.compile(r"_")
# block syntax at the start of a (stripped) line: the first character is escaped
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=\s|$)"  # ATX heading
    r"|>"  # block quote
    r"|[-+](?=\s|$)"  # bullet list item
    r"|[-=](?=[-=\s]*$)"  # setext heading underline, thematic break
    r"|~~~"  # fenced code
    r"|\|)"  # a table row for Markdown flavours that have tables
)
_ORDERED = re.compile(r"^([0-9]{1,9})([.)])(?=\s|$)")  # ordered list item: its "." or ")" is escaped
# a web or mail address, written as an autolink <...>: shown exactly as written, and nothing in it is markup
_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\x00-\x1f\x7f]+", re.IGNORECASE)
_URL_TRAILER = ".,;:!?'\"*_)]}"  # punctuation that ends a sentence rather than an address


def _escape_underscore(line: str) -> str:
    """``_`` between two letters or digits (snake_case) can never be emphasis in CommonMark; others are escaped."""

    def escape(match: re.Match[str]) -> str:
        at = match.start()
        inside_word = 0 < at < len(line) - 1 and line[at - 1].isalnum() and line[at + 1].isalnum()
        return "_" if inside_word else "\\_"

    return _UNDERSCORE.sub(escape, line) if "_" in line else line


def _escape_text(text: str) -> str:
    text = _BACKSLASH.sub(r"\\\\", text)
    text = _ENTITY.sub(r"\\&", text)
    text = _ALWAYS.sub(lambda match: "\\" + match.group(0), text)
    return _escape_underscore(text)


def _address_end(url: str) -> int:
    """Where an address found in text ends: without trailing sentence punctuation, but with a closing ")" that
    belongs to it (``https://en.wikipedia.org/wiki/Mercury_(planet)``)."""
    end = len(url)
    while end and url[end - 1] in _URL_TRAILER:
        if url[end - 1] == ")" and url.count("(", 0, end) >= url.count(")", 0, end):
            break
        end -= 1
    return end


def _escape_line(line: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        if match.start() < position:
            continue
        address = match.group(0)[: _address_end(match.group(0))]
        if _URL.fullmatch(address) is None:
            continue  # only punctuation after the scheme: not an address
        parts.append(_escape_text(line[position : match.start()]))
        parts.append(f"<{address}>")
        position = match.start() + len(address)
    parts.append(_escape_text(line[position:]))
    escaped = "".join(parts)
    if _ORDERED.match(escaped):
        return _ORDERED.sub(r"\1\\\2", escaped, count=1)
    if _BLOCK_START.match(escaped):
        return "\\" + escaped
    return escaped


def as_markdown(text: str) -> str:
    """Plain mail text as CommonMark that renders back to what the sender wrote.

    Each line is stripped of surrounding whitespace (so indentation never becomes a code block) and ends in a
    hard line break; a blank line separates paragraphs (several blank lines render as one). Characters that
    CommonMark would read as markup are backslash-escaped, and only where they would be read so: block syntax at
    the start of a line (headings, quotes, list markers, rules, setext underlines, fences, table pipes),
    emphasis ``*`` and ``_`` (not ``_`` inside a word), backticks, brackets, ``<`` (autolinks, HTML), ``&`` of
    an entity, and ``\\`` before punctuation. Web and mail addresses (``http://``, ``https://``, ``mailto:``)
    become autolinks (``<https://...>``), which show exactly what is inside them: no escape can break them.
    Rendered, no escape shows. NUL characters are dropped.
    """
    lines = [line.strip() for line in _LINE_END.split(text.replace("\x00", ""))]
    out: list[str] = []
    for index, line in enumerate(lines):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        continued = index + 1 < len(lines) and bool(lines[index + 1])
        out.append(_escape_line(line) + ("  " if continued else ""))
    return "\n".join(out).strip()


def cut_at_delimiter(body: str, delimiters: tuple[str, ...]) -> tuple[str, str]:
    """The body up to the first line where a delimiter matches, and that delimiter ("" when none matches).

    Delimiters are regular expressions (as documented on the mapping), searched case-insensitively with
    ``^``/``$`` at line boundaries (``\r\n`` and ``\r`` count as line ends too); the line of the match and
    everything after it are cut. Skipped, so that a configuration mistake never eats a body: a pattern that does
    not compile (validation rejects those, but stored data may predate it) and one that matches the empty text
    (``^$``, ``a*``, a stray ``|``: it would cut at the first position it is tried).
    """
    lines = body.replace("\r", "\n")  # same length as body: "\r\n" becomes an empty line, nothing else moves
    best, found = len(body), ""
    for delimiter in delimiters:
        if not delimiter:
            continue
        try:
            pattern = compiled(delimiter, DELIMITER_FLAGS)
            if pattern.fullmatch("") is not None:
                continue
            match = pattern.search(lines)
        except (re.error, RecursionError, OverflowError):
            continue
        if match is not None and match.start() < best:
            best, found = match.start(), delimiter
    if not found:
        return body, ""
    line_start = lines.rfind("\n", 0, best) + 1
    return body[:line_start].rstrip(), found
