"""Robustness and speed: never raise, never empty a non-empty body, linear time on huge bodies."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.mime.reply import extract_reply
from inbound.mime.subject import normalize_subject

MAILISH = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "\n",
                "> ",
                ">",
                "-- ",
                "On ",
                " wrote:",
                "From: ",
                "Sent: ",
                "To: ",
                "-----",
                "Original Message",
                "Forwarded message",
                "<",
                ">",
                "@",
                "2023",
                "10:00",
                ":",
                "\ue000",
                "Sent from my iPhone",
                "Regards,",
                "\u200b",
                "\r\n",
            ]
        ),
    ),
    max_size=60,
).map("".join)


# Not a speed target (bench/ measures speed): a bound that only a catastrophic (super-linear) regression
# breaks, generous enough for a loaded 2-core CI machine.
CATASTROPHE_SECONDS = 5.0


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(MAILISH)
def test_extract_reply_never_raises_and_keeps_text(text: str) -> None:
    result = extract_reply(text)
    assert isinstance(result, str)
    if text.strip():
        assert result.strip()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_extract_reply_with_html_never_raises(text: str, html: str) -> None:
    result = extract_reply(text, html)
    assert isinstance(result, str)
    if text.strip():
        assert result.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_subject_never_raises(subject: str) -> None:
    result = normalize_subject(subject)
    assert isinstance(result, str)
    assert result == result.strip()


def _timed(text: str, html: str = "") -> float:
    start = time.perf_counter()
    extract_reply(text, html)
    return time.perf_counter() - start


def test_five_megabyte_bodies_are_fast() -> None:
    line = "This is a normal line of a long customer message, with words: and colons 10:00.\n"
    body = "Reply on top.\n\n" + line * (5_000_000 // len(line))
    assert _timed(body) < CATASTROPHE_SECONDS
    quoted = "New text\n\nOn Mon, Jan 2, 2023 at 10:00 AM John <j@example.com> wrote:\n" + ("> " + line) * 60_000
    assert _timed(quoted) < CATASTROPHE_SECONDS
    assert extract_reply(quoted) == "New text"
    one_line = "x" * 5_000_000
    assert _timed(one_line) < CATASTROPHE_SECONDS
    colons = ("a:" * 100 + "\n") * 25_000
    assert _timed(colons) < CATASTROPHE_SECONDS


def test_big_html_is_fast() -> None:
    html = "<div>Reply</div><blockquote>" + "<div>quoted <b>text</b> line</div>" * 150_000 + "</blockquote>"
    assert len(html) > 5_000_000
    assert _timed("", html) < CATASTROPHE_SECONDS


def test_long_quote_corpus_file(shared_dir: Path) -> None:
    path = shared_dir / "corpora" / "email_reply_parser" / "test" / "emails" / "email_long_quote.txt"
    text = path.read_text(encoding="utf-8")
    assert _timed(text) < CATASTROPHE_SECONDS
    assert extract_reply(text).startswith("Hi folks")
