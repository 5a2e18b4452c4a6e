"""The audit row's header facts: read robustly from any input, with the library or the stdlib."""

from __future__ import annotations

import pytest

from inbound import summary
from inbound.summary import MAX_HEADER_BYTES, header_block, summarize

ENCODED = (
    b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"
    b"To: a@example.test, B <b@example.test>\r\nCc: c@example.test\r\n"
    b"Delivered-To: support@example.test\r\nX-Original-To: help@example.test\r\n"
    b"Subject: =?utf-8?b?w4RyZ2VyIG1pdCBkZW0gRHJ1Y2tlcg==?=\r\n"
    b"Message-ID: <abc.123@example.test>\r\n\r\nbody: with a colon\r\n"
)

READERS = [summary._summarize_with_mime, summary._summarize_with_stdlib]


@pytest.mark.parametrize("reader", READERS, ids=["mime", "stdlib"])
def test_headers_decoded_into_audit_facts(reader) -> None:
    facts = reader(header_block(ENCODED))
    assert facts.message_id == "abc.123@example.test"
    assert facts.subject == "Ärger mit dem Drucker"
    assert facts.sender == "jurgen@example.test"
    assert facts.recipients == {
        "To": ["a@example.test", "b@example.test"],
        "Cc": ["c@example.test"],
        "Delivered-To": ["support@example.test"],
        "X-Original-To": ["help@example.test"],
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"no headers at all\r\n\r\nbody",
        b"Subject: =?bogus?x?zz?=\r\n\r\n",
        b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nMessage-ID: <\r\n\r\n",
        b"Subject:" + b"x" * 2_000_000,
        b"X-A: 1\r\n" * 100_000,
        b"From: a@b\r\n\tcontinued without end" * 1000,
    ],
)
def test_malformed_mail_still_gives_a_summary(raw: bytes) -> None:
    facts = summarize(raw)
    assert isinstance(facts.subject, str) and len(facts.subject) <= summary.MAX_VALUE_CHARS
    assert isinstance(facts.recipients, dict)


def test_header_block_is_bounded_and_stops_at_blank_line() -> None:
    assert header_block(b"A: 1\r\n\r\nB: 2\r\n") == b"A: 1\r\n"
    assert len(header_block(b"A: " + b"x" * (MAX_HEADER_BYTES * 3))) == MAX_HEADER_BYTES


def test_library_failure_falls_back_to_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(block: bytes) -> None:
        raise RuntimeError("library bug")

    monkeypatch.setattr(summary, "_summarize_with_mime", broken)
    assert summarize(ENCODED).message_id == "abc.123@example.test"


def test_blank_lines_before_the_header_section_are_skipped_as_the_parser_does() -> None:
    # issue 16: a message piped with a leading blank line kept an empty audit row
    facts = summarize(b"\r\n\r\n" + ENCODED)
    assert (facts.subject, facts.sender, facts.message_id) == (
        "Ärger mit dem Drucker",
        "jurgen@example.test",
        "abc.123@example.test",
    )
