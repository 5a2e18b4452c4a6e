"""normalize_subject: prefixes in many languages, counters, [tags], non-prefixes preserved."""
# ruff: noqa: RUF001  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

import pytest

from inbound.mime.subject import is_forward_subject, normalize_subject

PREFIXES = [
    "Re",
    "RE",
    "re",
    "Fw",
    "FW",
    "Fwd",
    "FWD",
    "AW",
    "WG",
    "SV",
    "VS",
    "Antw",
    "Doorst",
    "RIF",
    "R",
    "I",
    "TR",
    "RV",
    "ENC",
    "Odp",
    "PD",
    "YNT",
    "ΑΠ",
    "ΣΧΕΤ",
    "Ответ",
    "НА",
    "回复",
    "答复",
    "转发",
    "回覆",
    "轉寄",
    "返信",
    "転送",
    "답장",
    "전달",
    "RES",
    "Svar",
    "VB",
    "VL",
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("colon", [":", "：", " :"])
def test_prefix_is_removed(prefix: str, colon: str) -> None:
    assert normalize_subject(f"{prefix}{colon} Printer broken") == "Printer broken"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: AW: Fwd: WG: Printer broken", "Printer broken"),
        ("Re:Re:Re: Printer", "Printer"),
        ("RE[2]: Printer", "Printer"),
        ("Re [3]: Printer", "Printer"),
        ("Re^2: Printer", "Printer"),
        ("Re(3): Printer", "Printer"),
        ("[JIRA] Re: Printer", "Printer"),
        ("Re: [Ticket #123] Printer", "Printer"),
        ("[ABC-123] Printer", "Printer"),
        ("Printer broken [Ticket #42]", "Printer broken"),
        ("  Re:   Printer    is \t broken  ", "Printer is broken"),
        ("回复：打印机坏了", "打印机坏了"),
        ("Antw: RE: Printer", "Printer"),
        ("[EXTERNAL] RE: [zAgile Support] Duplicate records", "Duplicate records"),
    ],
)
def test_combinations(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


@pytest.mark.parametrize(
    "subject",
    [
        "Reason: printer broken",
        "Return policy",
        "Request for quote",
        "Fwd is an acronym",
        "Fwdx: test",
        "Information: new",
        "Relay settings",
        "Translation needed",
        "About Re: and Fwd: prefixes",
        "Refund",
        "Svartvit skrivare",
        "Antwerp office",
        "Ideas",
        "Re-opened ticket",
    ],
)
def test_non_prefixes_are_kept(subject: str) -> None:
    assert normalize_subject(subject) == subject


def test_empty_and_prefix_only() -> None:
    assert normalize_subject("") == ""
    assert normalize_subject("Re:") == ""
    assert normalize_subject("   ") == ""


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("FW: Order", True),
        ("Fwd: Order", True),
        ("WG: Bestellung", True),
        ("TR: Commande", True),
        ("RV: Pedido", True),
        ("[ext] Fwd: x", True),
        ("RE: FW: Order", False),
        ("Re: Order", False),
        ("Order", False),
        ("", False),
    ],
)
def test_is_forward_subject(subject: str, forward: bool) -> None:
    assert is_forward_subject(subject) is forward
