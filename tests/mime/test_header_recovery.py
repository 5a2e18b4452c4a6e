"""Header sections that do not start on line one, or have a stray line among them (issue 16).

Each rule follows a reader's documented behaviour: mutt skips ``>From `` and mbox ``From_`` lines anywhere in
the header section; Python's email parser records a stray line as a defect; we also recover the headers that
clearly follow it. Real examples come from the shared corpora, with the expectations their own projects assert.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.mime import parse
from inbound.mime.header_recovery import header_block_follows, is_mbox_from, leading_header_start

HEADERS = (
    b"Return-Path: <ann@example.org>\r\nReceived: from mx.example.org by mail.example.net; Mon, 1 Jan 2024\r\n"
    b"From: Ann <ann@example.org>\r\nTo: support@example.net\r\nSubject: printer\r\n"
    b"Message-ID: <p1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"It is broken.\r\n"
)


@pytest.mark.parametrize(
    "before",
    [
        b"\r\n",  # a pipe filter's leading blank line
        b"\n\n\n",
        b" " * 255 + b"\n",  # a whitespace-only first line (flanker's fixtures, below)
        b"Microsoft Mail Internet Headers Version 2.0\r\n",  # the first line of Outlook's "Internet headers" box
        b"+OK 1234 octets\r\n",  # a POP3 status line left in a saved message
        b"\r\nFrom ann@example.org Mon Jan  1 00:00:00 2024\r\n",  # an mbox separator after a blank line
    ],
)
def test_lines_before_the_header_section_are_skipped_when_a_header_section_follows(before: bytes) -> None:
    m = parse(before + HEADERS)
    assert (m.subject, m.from_.email if m.from_ else None, m.message_id) == (
        "printer",
        "ann@example.org",
        "p1@example.org",
    )
    assert m.body_text == "It is broken." and m.error is None
    assert m.defects == ("lines before the header section skipped",)


@pytest.mark.parametrize(
    "raw",
    [
        # a body-only reply whose quoted Outlook block follows a line of text: From/Sent/To/Subject are what
        # clients write above quoted history, no transport or MIME field: it stays body text
        b"Outlook with a reply directly above line\n____\nFrom: CRM [crm@example.com]\nSent: Friday\n"
        b"To: John\nSubject: x\n\nA new comment\n",
        b"\nJust text.\nNo headers: here\n",
        b"one\ntwo\nthree\nfour\nfive\nsix\nReceived: x\nMessage-ID: <a@b>\n\nbody\n",  # too much junk before
    ],
)
def test_body_only_input_stays_body(raw: bytes) -> None:
    m = parse(raw)
    assert m.subject == "" and m.from_ is None and "lines before the header section skipped" not in m.defects
    assert m.body_text.strip()


def test_a_stray_line_among_headers_is_skipped_when_headers_clearly_follow() -> None:
    # Python's email parser gives "not a header" and everything after it as the body (with a defect)
    m = parse(b"From: a@example.org\nSubject: test\nnot a header\nTo: abc@example.net\nMessage-ID: <s@x>\n\nb\n")
    assert [a.email for a in m.to] == ["abc@example.net"] and m.message_id == "s@x" and m.body_text == "b"
    assert m.defects == ("non-header line in the header section skipped",) and m.error is None


@pytest.mark.parametrize(
    "raw",
    [
        # cpython Lib/test/test_email/data/msg_35.txt: the body starts without the blank line (test_email's
        # MissingHeaderBodySeparatorDefect case): nothing header-like follows
        None,
        # a forwarded header block pasted right after the headers repeats From and Subject (RFC 5322 §3.6: once)
        b"From: a@example.org\nSubject: s\nHi,\nForwarded:\nFrom: x@example.net\nSubject: z\nMessage-ID: <3@x>\n\nb\n",
        # prose with a colon: not a known field
        b"From: a@example.org\nSubject: s\nHi,\nNote: the server is down\n\nThanks\n",
    ],
)
def test_a_stray_line_followed_by_body_text_starts_the_body(raw: bytes | None, shared_dir: Path) -> None:
    if raw is None:
        raw = (shared_dir / "corpora/cpython/Lib/test/test_email/data/msg_35.txt").read_bytes()
    m = parse(raw)
    assert m.from_ is not None and m.from_.email in {"a@example.org", "aperson@dom.ain"}
    assert "non-header line in the header section skipped" not in m.defects
    assert "no blank line after the header section" in m.defects and m.error is None  # as Python's defect says
    assert m.body_text.split("\n")[0] in {"Hi,", "counter to RFC 2822, there's no separating newline here"}


def test_quoted_and_mbox_from_lines_anywhere_in_the_header_section_are_skipped() -> None:
    # mutt: ">From " lines ("some bogus MTAs will quote the original From_ line") and From_ lines ("MH sometimes
    # has the From_ line in the middle of the header") are ignored wherever they are
    raw = (
        b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n"
        b">From ann@example.org Mon Jan  1 00:00:00 2024\n"
        b"From ann@example.org Mon Jan  1 00:00:00 2024\n"
        b"From: ann@example.org\nSubject: kept\n\nbody\n"
    )
    m = parse(raw)
    assert (m.subject, m.body_text, m.defects) == ("kept", "body", ())


def test_mbox_from_lines_as_mutt_recognises_them() -> None:
    assert is_mbox_from(b"From VM Wed Feb  7 14:01:33 2001")  # flufl.bounce's data files
    assert is_mbox_from(b"From MAILER-DAEMON Fri Apr 06 16:46:09 2001")
    assert is_mbox_from(b"From prvs=126700a846=ndr@some.domain  Mon Dec 30 19:53:03 2013")
    assert not is_mbox_from(b"From here on we talk about dates")


def test_a_mime_part_starting_with_a_blank_line_has_no_header_section() -> None:
    # RFC 2046 §5.1.1: a part's blank first line means "no headers" (default text/plain), never skipped
    body = b"--b\r\n\r\nContent-Type: text/html\r\nMessage-ID: <x@y>\r\n\r\ntext\r\n--b--\r\n"
    m = parse(b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + body)
    assert "Content-Type: text/html" in m.body_text and m.defects == ()


def test_recovery_checks_are_bounded() -> None:
    # a megabyte of header-like lines with no end: the look-ahead stops at the header cap
    data = b"x\n" + b"X-A: b\n" * 200_000
    assert not header_block_follows(data, 2, len(data), set())
    assert leading_header_start(b"\n" * 100_000 + b"Received: x\n\n", 0, 100_013) is None  # past the leading cap


@pytest.mark.parametrize(
    ("name", "subject", "sender"),
    [
        # flanker's fixtures start with a line of 255 spaces; flanker's own tests read their headers
        ("enclosed.eml", "Wow", "bob@example.net"),
        ("iphone.eml", "Subject", "someone@somewhere.com"),
        ("mailgun-pic.eml", "Mailgun rocks!", "hello@example.com"),
    ],
)
def test_real_messages_with_a_blank_first_line(shared_dir: Path, name: str, subject: str, sender: str) -> None:
    m = parse((shared_dir / "corpora/flanker/tests/fixtures/messages" / name).read_bytes())
    assert (m.subject, m.from_.email if m.from_ else None) == (subject, sender)
    assert "lines before the header section skipped" in m.defects and m.error is None
    if name == "enclosed.eml":  # flanker's readonly_immutability_test asserts both To headers
        assert [(a.name, a.email) for a in m.to] == [("Александр Клижентас☯", "bob@example.com")]
        assert dict(m.enclosed_headers[0])["To"] == "Bob Marley <bob@example.net>, Jimmy Hendrix <jimmy@examplehq.com>"
    if name == "iphone.eml":  # flanker's content_types_test: an inline photo.JPG
        assert [(a.filename, a.inline) for a in m.attachments] == [("photo.JPG", True)]
    if name == "mailgun-pic.eml":
        assert [a.filename for a in m.attachments] == ["mailgun.png"]
