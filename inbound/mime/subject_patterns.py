"""Reply / forward subject prefixes of mail clients in many languages, and helpers built on them."""
# ruff: noqa: RUF001  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

import re

# Reply prefixes: English, German (AW, Antwort), Nordic (SV, Svar, VS), Dutch (Antw), Italian (R, RIF),
# Portuguese (RES, Resp), Polish (Odp), Turkish (YNT, Cvp), Greek, Russian/Bulgarian, CJK, Korean, ...
REPLY_PREFIXES = (
    "re",
    "aw",
    "antw",
    "antwort",
    "sv",
    "svar",
    "vs",
    "r",
    "rif",
    "res",
    "resp",
    "odp",
    "odpowiedź",
    "ynt",
    "cvp",
    "απ",
    "σχετ",
    "ответ",
    "отв",
    "на",
    "回复",
    "答复",
    "回覆",
    "答覆",
    "返信",
    "답장",
    "회신",
    "atb",
    "odg",
    "vá",
    "ats",
)
# Forward prefixes: Fw/Fwd, German WG, French TR, Spanish RV/ENC (Portuguese ENC), Italian I, Dutch
# Doorst, Swedish VB, Finnish VL, Polish PD, Turkish İLT, Russian Пересл, CJK, Korean, ...
FORWARD_PREFIXES = (
    "fw",
    "fwd",
    "wg",
    "tr",
    "rv",
    "enc",
    "i",
    "inoltro",
    "doorst",
    "vb",
    "vl",
    "vs",
    "pd",
    "ilt",
    "İlt",
    "пересл",
    "пер",
    "转发",
    "轉寄",
    "转寄",
    "転送",
    "전달",
    "továbbítás",
    "fs",
)
_ALL = sorted({*REPLY_PREFIXES, *FORWARD_PREFIXES}, key=len, reverse=True)
_ALTERNATION = "|".join(re.escape(p) for p in _ALL)
_COUNTER = r"(?:\s?\[\d{1,4}\]|\s?\(\d{1,4}\)|\^\d{1,4})?"

PREFIX = re.compile(rf"^(?:{_ALTERNATION}){_COUNTER}\s*(?:[:：;]|--)[\s:：;]*", re.IGNORECASE)
FORWARD_PREFIX = re.compile(
    rf"^(?:{'|'.join(re.escape(p) for p in FORWARD_PREFIXES)}){_COUNTER}\s*[:：]", re.IGNORECASE
)
# "[Fwd: subject]" - old clients wrap the forwarded subject in brackets
WRAPPED = re.compile(rf"^\[\s*(?:{_ALTERNATION})\s*[:：]", re.IGNORECASE)
TAG = re.compile(r"^\[[^\[\]]{0,100}\]\s*")
# (?<!\s): a search starts a run of spaces at its beginning only (from every space it was quadratic in the run)
TRAILING_TAG = re.compile(r"(?<!\s)\s*+\[[^\[\]]{1,100}\]$")
FWD_PAREN = re.compile(r"^\(\s*(?:fwd?|fw)\s*\)\s*", re.IGNORECASE)
TRAILING_FWD_PAREN = re.compile(r"(?<!\s)\s*+\(\s*+(?:fwd?|fw)\s*+\)$", re.IGNORECASE)
BARE = re.compile(r"^(?:re|fwd?|fw)[\s:：;]*$", re.IGNORECASE)
SPACES = re.compile(r"\s+")
MAX_SUBJECT = 10_000


def is_forward_subject(subject: str) -> bool:
    """True when the first reply/forward prefix of ``subject`` (after [tags]) is a forward prefix."""
    text = SPACES.sub(" ", (subject or "")[:MAX_SUBJECT]).strip()
    for _ in range(20):
        if FWD_PAREN.match(text) or FORWARD_PREFIX.match(text):
            return True
        wrapped = WRAPPED.match(text)
        if wrapped:
            return bool(FORWARD_PREFIX.match(text[1:].lstrip()))
        tag = TAG.match(text)
        if not tag:
            return False
        text = text[tag.end() :]
    return False
