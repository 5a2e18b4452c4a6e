"""Body text decoded only as far as it is kept: identical output, bounded memory.

Regression (issue 11, finding 8): a worker held 173 MB for a 24 MB single-line text body; the parser held the
raw mail, the decoded payload and its whole decoded text, about three times the message, to keep 4 M characters.
"""

from __future__ import annotations

import base64
import binascii
import functools
import random
import tracemalloc
from collections.abc import Iterator

import pytest

from inbound.mime import ParsedMessage, bodies, parse
from inbound.mime.limits import MAX_TEXT
from inbound.mime.structure import decode_transfer, iter_transfer

MB = 1024 * 1024


def message(payload: bytes, *, encoding: str = "8bit", ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (
        b"From: Carla <c@customer.example>\r\nTo: help@example.com\r\nSubject: big\r\nMessage-ID: <big@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: " + ctype.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + payload
    )


def encoded(body: bytes, encoding: str, *, lines: bool = True) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(body) if lines else base64.b64encode(body)
    if encoding == "quoted-printable":
        return binascii.b2a_qp(body) if lines else binascii.b2a_qp(body).replace(b"=\n", b"")
    return body


def parse_whole(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedMessage:
    """The parse as it was: every text part decoded whole."""
    with monkeypatch.context() as patched:
        patched.setattr(bodies, "kept_text", lambda *args: None)
        return parse(raw)


def text_of(size: int, alphabet: str, seed: int = 1, line: int = 0) -> str:
    rng = random.Random(seed)
    chars = rng.choices(alphabet, k=size)
    if line:
        for i in range(line, size, line):
            chars[i] = "\n"
    return "".join(chars)


LATIN = "abcdefghij klmnopqrstuvwxyz.,;"
MIXED = LATIN + "äöüßé€—“”😀"
JAPANESE = "あいうえおかきくけこ日本語の文字列、。" + "abc "
OVER = MAX_TEXT + 300_000  # characters: above the cap
UU_FILE = "begin 644 f.bin\n" + "".join(binascii.b2a_uu(bytes(45)).decode() for _ in range(5000)) + "`\nend\n"


@pytest.mark.parametrize(
    ("name", "body", "charset", "encoding", "lines"),
    [
        ("ascii one line", text_of(OVER, LATIN).encode(), "us-ascii", "8bit", True),
        ("utf-8 one line, base64", text_of(OVER, MIXED).encode(), "utf-8", "base64", False),
        ("utf-8 lines, base64", text_of(OVER, MIXED, line=70).encode(), "utf-8", "base64", True),
        ("utf-8 one line, qp", text_of(OVER, MIXED).encode(), "utf-8", "quoted-printable", False),
        (
            "utf-8 crlf lines, qp",
            text_of(OVER, MIXED, line=60).replace("\n", "\r\n").encode(),
            "utf-8",
            "quoted-printable",
            True,
        ),
        ("utf-8 crlf, 8bit", text_of(OVER, MIXED, line=99).replace("\n", "\r\n").encode(), "utf-8", "8bit", True),
        ("shift_jis one line, 8bit", text_of(OVER, JAPANESE).encode("cp932"), "shift_jis", "8bit", True),
        ("shift_jis lines, base64", text_of(OVER, JAPANESE, line=40).encode("cp932"), "shift_jis", "base64", True),
        ("utf-8 labelled latin-1", text_of(OVER, MIXED).encode(), "iso-8859-1", "base64", True),
        ("bad utf-8 at the end", text_of(OVER, MIXED).encode() + b"\xff\xfe", "utf-8", "8bit", True),
        ("undeclared latin-1", text_of(OVER, "abcdé ").encode("latin-1"), "", "8bit", True),
        ("leading line breaks", ("\n" * 300_000 + text_of(OVER, LATIN)).encode(), "utf-8", "8bit", True),
        ("whitespace then text", (" \n" * (OVER // 2) + "the text").encode(), "utf-8", "base64", True),
        ("only whitespace", (" \t\n" * (OVER // 3)).encode(), "utf-8", "8bit", True),
        ("line breaks at the cut", ("a" + "\n" * OVER + "b").encode(), "utf-8", "8bit", True),
        (
            "a uuencoded file across the cut",
            (text_of(MAX_TEXT - 99, LATIN) + "\n" + UU_FILE).encode(),
            "utf-8",
            "8bit",
            True,
        ),
        (
            "a uuencoded file after the cut",
            (text_of(OVER, LATIN) + "\nbegin 644 f.bin\n#86)C\n`\nend\n").encode(),
            "utf-8",
            "8bit",
            True,
        ),
    ],
)
def test_a_text_above_the_cap_parses_as_when_decoded_whole(
    name: str, body: bytes, charset: str, encoding: str, lines: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctype = f"text/plain; charset={charset}" if charset else "text/plain"
    raw = message(encoded(body, encoding, lines=lines), encoding=encoding, ctype=ctype)
    ours, whole = parse(raw), parse_whole(raw, monkeypatch)
    assert ours == whole, name
    assert len(ours.body_text) in {MAX_TEXT, len(whole.body_text)}


def test_an_html_body_above_the_cap_parses_as_when_decoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    html = "<p>" + "</p><p>".join(text_of(13 * MB // 40, MIXED, seed=n) for n in range(40)) + "</p>"
    raw = message(encoded(html.encode(), "base64"), encoding="base64", ctype="text/html; charset=utf-8")
    assert parse(raw) == parse_whole(raw, monkeypatch)


def in_pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_kept_text_is_a_prefix_of_the_whole_text_in_every_charset() -> None:
    rng = random.Random(7)
    for charset, alphabet in [("utf-8", MIXED), ("shift_jis", JAPANESE), ("utf-16", MIXED), ("gb2312", "中文字符 ab")]:
        for _ in range(20):
            text = text_of(rng.randrange(50, 400), alphabet, seed=rng.randrange(1000), line=rng.choice([0, 7]))
            data = text.encode(bodies.codec_for(charset) or charset)
            if rng.random() < 0.3:  # damage: decoded with replacement characters
                data = data[:-1] + b"\xff" + data[-1:]
            whole = bodies._lines(bodies.decode_text(data, charset))
            size = rng.randrange(1, 9)
            keep = rng.randrange(1, 60)
            kept = bodies.kept_text(functools.partial(in_pieces, data, size), charset, keep)
            assert kept is not None and whole.startswith(kept), (charset, keep, size)
            assert len(kept.lstrip("\n")) >= keep or kept == whole


def hostile_base64(rng: random.Random) -> bytes:
    pieces = [base64.b64encode(rng.randbytes(rng.randrange(0, 40)))]
    for _ in range(rng.randrange(0, 4)):
        pieces.append(rng.choice([b"=", b"==", b"\r\n", b"*", b"Q", b"QQ", b" ", b"ab=c"]))
        pieces.append(base64.b64encode(rng.randbytes(rng.randrange(0, 40))).rstrip(b"="))
    return b"".join(pieces)


def hostile_qp(rng: random.Random) -> bytes:
    alphabet = [b"=", b"==", b"=4", b"=41", b"=\r", b"=\n", b"=\r\n", b"\r\n", b"\n", b"a", b"bc", b"=ZZ", b" "]
    return b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
def test_pieces_of_a_payload_are_exactly_its_whole_decoding(encoding: str) -> None:
    rng = random.Random(11)
    for _ in range(2000):
        data = hostile_base64(rng) if encoding == "base64" else hostile_qp(rng)
        pieces = list(iter_transfer(data, 0, len(data), encoding, chunk=rng.randrange(1, 8)))
        assert b"".join(pieces) == decode_transfer(data, encoding), data


def peak_with(raw: bytes) -> tuple[ParsedMessage, int]:
    """The parse and its peak memory, the raw message included."""
    tracemalloc.start()
    try:
        parsed = parse(raw)
        return parsed, len(raw) + tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("encoding", ["8bit", "base64", "quoted-printable"])
def test_a_24_mb_single_line_body_costs_less_than_twice_its_size(encoding: str) -> None:
    """Before: 3.0x (8bit), 2.5x (base64), 3.0x (quoted-printable); now about 1.6x."""
    size = 24 * MB
    body = b"x" * (size * 3 // 4 if encoding == "base64" else size)
    raw = message(encoded(body, encoding, lines=False), encoding=encoding)
    del body
    parsed, peak = peak_with(raw)
    assert len(parsed.body_text) == MAX_TEXT and parsed.error is None
    assert peak < 2.0 * len(raw), f"peak {peak / MB:.1f} MB for a {len(raw) / MB:.1f} MB message"


def test_below_the_cap_the_whole_text_is_decoded_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    with monkeypatch.context() as patched:
        patched.setattr(bodies, "kept_text", lambda *args: calls.append(1))
        text = text_of(MAX_TEXT, LATIN)
        assert parse(message(text.encode("ascii"))).body_text == text.strip("\n")
    assert calls == [], "a body no longer than the cap is decoded whole, as before"
    raw = message(text_of(MAX_TEXT - 10, MIXED).encode("utf-8"))  # more bytes than the cap, fewer characters
    ours = parse(raw)
    assert ours == parse_whole(raw, monkeypatch) and len(ours.body_text) < MAX_TEXT


def test_a_word_begin_in_prose_does_not_stop_the_cut() -> None:
    text = text_of(5000, LATIN, line=50).replace("\n", "\nso we begin again ")
    data = text.encode()
    kept = bodies.kept_text(lambda: (data[i : i + 100] for i in range(0, len(data), 100)), "utf-8", 1000)
    assert isinstance(kept, bodies.CutText) and text.startswith(kept) and 1000 <= len(kept) < 1200
    with_file = (text + "\n" + UU_FILE).encode()
    assert bodies.kept_text(lambda: iter([with_file]), "utf-8", 1000) is None, "a uuencoded block is found in the whole"
