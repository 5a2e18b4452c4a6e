"""Headers as real clients write them: malformed RFC 2047 words, RFC 822 comments as names, groups."""

from __future__ import annotations

import random
import timeit

import pytest

from inbound.mime import parse
from inbound.mime.charsets import codec_for
from inbound.mime.headers import _general_addresses, _simple_addresses, decode_words, parse_addresses
from inbound.mime.model import Address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # folded inside the word (RFC 2047 §2 forbids it; Thunderbird, Outlook and Gmail decode it)
        ("=?utf-8?q?caf=C3=A9 au lait?=", "café au lait"),
        ("=?utf-8?q?caf=C3=A9\tnoir?=", "café\tnoir"),
        ("=?utf-8?b?Y2Fm w6kgYXUg bGFpdA==?=", "café au lait"),
        # a leading space in the encoded text
        ("=?utf-8?q? Re: caf=C3=A9?=", " Re: café"),
        ("=?utf-8?b? Y2Fmw6k=?=", "café"),
        # the UTF-7 label of Outlook Express / old Exchange (RFC 2152)
        ("=?unicode-1-1-utf-7?Q?+AOk-t+AOk-?=", "été"),
        ("=?UNICODE-1-1-UTF-7?B?K0FPay10K0FPay0=?=", "été"),
        # adjacent words: the white space between them is dropped (RFC 2047 §6.2), whatever their charsets
        ("=?utf-8?q?Jo?= =?utf-8?q?hn?=", "John"),
        ("=?iso-8859-1?q?caf=E9?=\r\n =?utf-8?q?_cr=C3=A8me?=", "café crème"),
        # one multibyte character split across two words of one charset: the bytes are joined before decoding
        ("=?utf-8?q?=E6=97?= =?utf-8?q?=A5=E6=9C=AC?=", "日本"),
        ("=?utf-8?b?5pe=?= =?utf-8?b?peacrA==?=", "日本"),
        ("=?shift_jis?b?k/o=?= =?shift_jis?b?lnuM6g==?=", "日本語"),
        # text between words is kept as written
        ("=?utf-8?q?a?= and =?utf-8?q?b?=", "a and b"),
    ],
)
def test_encoded_words_real_clients_decode(value: str, expected: str) -> None:
    assert decode_words(value) == expected


def test_utf7_labels_map_to_the_utf7_codec() -> None:
    assert codec_for("unicode-1-1-utf-7") == codec_for("x-unicode-2-0-utf-7") == "utf-7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # an encoded-word that holds the display name's comma: one address, the comma stays in the name
        (
            "=?utf-8?q?M=C3=BCller,_Hans?= <hans@example.de>, b@example.com",
            [("Müller, Hans", "hans@example.de"), ("", "b@example.com")],
        ),
        # an encoded-word that spans the angle-addr: decoded before the mailbox is parsed
        ("=?utf-8?q?Hans_M=C3=BCller_<hans@example.de>?=", [("Hans Müller", "hans@example.de")]),
        ("=?utf-8?q?hans@example.de?=", [("", "hans@example.de")]),
        # decoded brackets and commas inside a display name never inject addresses
        (
            "=?utf-8?q?evil_<x@evil.test>,_y@evil.test?= <real@example.com>",
            [("evil <x@evil.test>, y@evil.test", "real@example.com")],
        ),
        # Outlook quotes its encoded-words
        ('"=?utf-8?q?Doe,_J?=" <j@example.com>', [("Doe, J", "j@example.com")]),
        # a phrase mixing plain and encoded words
        ("Dr. =?utf-8?q?M=C3=BCller?= <m@example.de>", [("Dr. Müller", "m@example.de")]),
        ("=?utf-8?q?Jo?= =?utf-8?q?hn?= <j@example.com>", [("John", "j@example.com")]),
        # an addr-spec is never decoded (RFC 2047 §5 (3))
        ("Ann <=?utf-8?q?x?=@example.com>", [("Ann", "=?utf-8?q?x?=@example.com")]),
    ],
)
def test_encoded_words_in_address_lists(value: str, expected: list[tuple[str, str]]) -> None:
    assert parse_addresses(value) == tuple(Address(name=n, email=e) for n, e in expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("user@example.com (Full Name)", ("Full Name", "user@example.com")),
        (
            "MAILER-DAEMON@mx.example.com (Mail Delivery System)",
            ("Mail Delivery System", "MAILER-DAEMON@mx.example.com"),
        ),
        ("postmaster@example.com (Postmaster)", ("Postmaster", "postmaster@example.com")),
        ("<user@example.com> (Full Name)", ("Full Name", "user@example.com")),
        ("user@example.com(Full Name)", ("Full Name", "user@example.com")),
        # nested comments and quoted-pairs are part of the comment's text (RFC 5322 §3.2.2)
        ("user@example.com (Full (Nested) Name)", ("Full (Nested) Name", "user@example.com")),
        ("user@example.com (O\\'Brien \\(IT\\))", ("O'Brien (IT)", "user@example.com")),
        # encoded-words are allowed in comments (RFC 2047 §5 (2))
        ("user@example.com (=?utf-8?q?Andr=C3=A9_(Paris)?=)", ("André (Paris)", "user@example.com")),
        # a phrase wins over a comment
        ("John Doe <j@example.com> (work)", ("John Doe", "j@example.com")),
    ],
)
def test_rfc822_comment_is_the_name_when_there_is_no_phrase(value: str, expected: tuple[str, str]) -> None:
    assert parse_addresses(value) == (Address(name=expected[0], email=expected[1]),)


def test_groups_and_plain_lists() -> None:
    assert parse_addresses("undisclosed-recipients:;") == ()
    assert [a.email for a in parse_addresses("Team: a@example.com, b@example.com;, c@example.com")] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert parse_addresses('"Smith, J" <js@example.com>, <plain@example.com>') == (
        Address("Smith, J", "js@example.com"),
        Address("", "plain@example.com"),
    )
    assert parse_addresses('"x:y" <a@example.com>') == (Address("x:y", "a@example.com"),)


def test_whole_message_from_comment_and_folded_subject() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        b"To: =?utf-8?q?M=C3=BCller,_Hans?= <hans@example.de>\r\n"
        b"Subject: =?utf-8?q?Undelivered_caf=C3=A9?=\r\n =?utf-8?q?_mail?=\r\n\r\nbody\r\n"
    )
    message = parse(raw)
    assert message.from_ == Address("Mail Delivery System", "MAILER-DAEMON@mx.example.com")
    assert message.to == (Address("Müller, Hans", "hans@example.de"),)
    assert message.subject == "Undelivered café mail"


@pytest.mark.parametrize(
    "value",
    [
        "a:" * 8000,
        "((" * 8000,
        "=?utf-8?q?" * 1600,
        '"' * 16000,
        "<" * 16000,
        "=?a?q?b?= " * 1600,
        "=?a?q?" + "x" * 16000,
        "a " * 8000,  # the plain-list shortcut's shapes
        "x@" * 8000,
        "a," * 8000,
        "a" * 16000 + "<b@example.com",
        "a" * 8000 + "@" + "b" * 8000 + ">",
    ],
)
def test_hostile_address_lists_are_linear(value: str) -> None:
    # the best of three: a quadratic parse takes seconds every time, a stall of the machine (one run took 0.59 s
    # under a parallel suite, against 0.03 s alone) only once
    assert min(timeit.repeat(lambda: parse_addresses(value), number=1, repeat=3)) < 0.5


# Characters that make or break the plain shapes: specials, ASCII and Unicode white space, controls, non-ASCII.
_PIECES = [
    *"aAz09 .-_'!#$&*+/=?^`{|}~<>@,\t\r\n",
    *("é", "日", "\U0001f600", "\xa0", "\u2028", "\u3000", "\x85", "\x1c", "\x0b", "\x00", "\x7f", "\u200b"),
    *("..", "  ", "@x.org", "<a@b.c>", "Jo.", "=?", "%", '"', "(", ";", ":"),
]
_NAMES = ["", "Alice", "Alice Smith", "J. Smith", "O'Brien", "Mr  Big", " Bob ", "Zoë Ågren", "日本 太郎", "a.b", "x@y"]
_LOCALS = ["alice", "Alice.Smith", "a+b", "a..b", ".a", "o'brien", "SRS0=ab=cd@x", "é", "!#$%&'*+/=?^_`{|}~"]
_DOMAINS = ["example.org", "EXAMPLE.ORG", "x", "a..b", "xn--bcher-kva.example", "münchen.de", "b.", "[10.0.0.1]"]


def _candidate_lists(rnd: random.Random) -> list[str]:
    lists = ["".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 25))) for _ in range(30000)]
    for _ in range(20000):
        mailboxes = []
        for _ in range(rnd.randint(1, 4)):
            address = f"{rnd.choice(_LOCALS)}@{rnd.choice(_DOMAINS)}"
            if rnd.random() < 0.6:
                spacing = rnd.choice(["", " ", "  ", "\t"])
                mailboxes.append(f"{rnd.choice(_NAMES)}{spacing}<{address}>{rnd.choice(['', ' '])}")
            else:
                mailboxes.append(rnd.choice(["", " "]) + address)
        lists.append(rnd.choice([",", ", ", " , ", ",,"]).join(mailboxes))
    return lists


def test_the_plain_list_shortcut_reads_every_list_it_takes_as_the_general_parser_does() -> None:
    taken = 0
    for value in _candidate_lists(random.Random(11)):
        simple = _simple_addresses(value)
        if simple is not None:
            taken += 1
            assert simple == _general_addresses(value), value
    assert taken > 5000  # the shortcut does take the common shapes
    assert _simple_addresses('"Smith, J" <js@example.com>') is None  # quotes, comments, words: the general parser
    assert _simple_addresses("x@example.com (X)") is None and _simple_addresses("=?utf-8?q?A?= <a@b.c>") is None
