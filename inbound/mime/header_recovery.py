"""Header sections that do not start on line one, or have a stray line among them: when to recover them.

What real readers do, and what we follow:

- mutt (``mutt_read_rfc822_header``) skips a ``>From `` line anywhere in the header section ("some bogus
  MTAs will quote the original From_ line") and an mbox ``From_`` line anywhere in it ("MH sometimes has
  the From_ line in the middle of the header"); any other line without a colon ends the section.
- Python's email parser records a line that is not a header as a defect (MissingHeaderBodySeparatorDefect)
  and reads everything after it as the body.

We go one step further only where what follows is clearly a header section: the lines after the stray line
(or after the blank or junk lines before the first header) are all header fields up to the blank line that
ends a header section, and they name fields that message header sections carry (RFC 5322, RFC 2045, the
transport's trace fields) but that never repeat a field RFC 5322 §3.6 allows only once. A pasted or quoted
header block ("From:/Sent:/To:/Subject:" as clients write them above quoted history) repeats From and
Subject, or carries no transport or MIME field, so it stays body text.
"""

from __future__ import annotations

import re

from inbound.mime.limits import MAX_HEADER_BLOCK

FIELD_NAME = re.compile(rb"^[!-9;-~]+[ \t]*:")
# mutt's is_from(): "From ", an optional return path, then an asctime date (weekday, month, day, time).
MBOX_FROM = re.compile(
    rb"^From [^\s]{0,512}[ \t]+(?:\S{0,512}[ \t]+)?(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6},?[ \t]+"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}[ \t]+\d{1,2}[ \t]+\d{1,2}:\d{2}"
)
# RFC 5322 §3.6: the fields a message has at most once; a block repeating one is not this message's header.
SINGLE_FIELDS = frozenset(
    {"date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references", "subject"}
)
# Fields of a message's own header section that people's quoted header blocks never carry: RFC 5322 trace and
# identification fields, RFC 2045 MIME fields, the common delivery and authentication fields of receiving servers.
MESSAGE_FIELDS = frozenset(
    {
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "dkim-signature",
        "authentication-results",
        "arc-seal",
        "received-spf",
        "in-reply-to",
        "references",
        "x-mailer",
        "user-agent",
    }
)
# Names a message's header section carries (RFC 5322 §3.6, RFC 2045, RFC 2369, RFC 3834 and the common vendor
# prefixes): after a stray line among real headers, a block made only of these is the rest of the section.
OTHER_FIELDS = frozenset({"bcc", "keywords", "comments", "importance", "priority", "organization", "precedence"})
FIELD_PREFIXES = ("content-", "x-", "list-", "resent-", "arc-", "thread-", "auto-", "disposition-notification-")
MAX_STRAY_LINES = 3  # stray lines skipped in one header section
MAX_LEADING_LINES = 5  # junk lines (not counting blank ones) skipped before the first header
MAX_LEADING_BYTES = 4096


def is_mbox_from(line: bytes) -> bool:
    """An mbox ``From_`` separator line, as mutt recognises it."""
    return line.startswith(b"From ") and MBOX_FROM.match(line) is not None


def _known(name: str) -> bool:
    return name in SINGLE_FIELDS or name in MESSAGE_FIELDS or name in OTHER_FIELDS or name.startswith(FIELD_PREFIXES)


def header_block_follows(data: bytes, pos: int, end: int, seen: set[str]) -> bool:
    """Whether ``data[pos:end]`` starts with a clear header section: only fields (and their continuation
    lines, ``>From `` and ``From_`` lines) up to a blank line or the end, and no field of ``SINGLE_FIELDS``
    already in ``seen`` (lower-cased names). With nothing ``seen`` (lines before the first header) one of the
    fields must be one of ``MESSAGE_FIELDS``; after real headers every field must be a known one."""
    limit = min(end, pos + MAX_HEADER_BLOCK)
    names: set[str] = set()
    in_field = False
    while pos < limit:
        nl = data.find(b"\n", pos, limit)
        line_end = limit if nl < 0 else nl
        line = data[pos:line_end].rstrip(b"\r")
        pos = line_end + 1
        if not line.strip(b" \t"):
            break
        if line[:1] in (b" ", b"\t"):
            if not in_field:
                return False
            continue
        match = FIELD_NAME.match(line)
        if match is None:
            if line.startswith(b">From ") or is_mbox_from(line):
                continue
            return False
        name = line[: match.end() - 1].rstrip(b" \t").decode("ascii", "replace").lower()
        if name in SINGLE_FIELDS and (name in seen or name in names):
            return False
        names.add(name)
        in_field = True
    else:
        if pos < end:  # the block ran past the header cap without ending
            return False
    if not names:
        return False
    return all(_known(n) for n in names) if seen else bool(names & MESSAGE_FIELDS)


def leading_header_start(data: bytes, start: int, end: int) -> int | None:
    """Where the header section starts when blank or junk lines come before it (None: it starts at ``start``,
    or no clear header section follows). Used for a whole message only: a MIME part whose first line is blank
    has no header section (RFC 2046 §5.1.1)."""
    pos = start
    junk = 0
    limit = min(end, start + MAX_LEADING_BYTES)
    while pos < limit:
        nl = data.find(b"\n", pos, end)
        line_end = end if nl < 0 else nl
        line = data[pos:line_end].rstrip(b"\r")
        if FIELD_NAME.match(line) and not line[:1].isspace():
            if pos == start:
                return None
            return pos if header_block_follows(data, pos, end, set()) else None
        if line.strip(b" \t"):
            if pos == start and (line.startswith(b"From ") or line.startswith(b">From ")):
                return None  # the mbox separator is read by the splitter itself
            junk += 1
            if junk > MAX_LEADING_LINES:
                return None
        if nl < 0:
            return None
        pos = nl + 1
    return None
