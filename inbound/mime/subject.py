"""Subject normalisation: reply/forward prefixes, [tags] and counters removed, whitespace collapsed.

``normalize_subject("RE[2]: AW: [JIRA] Fwd: Printer broken")`` -> ``"Printer broken"``. Words that only
start like a prefix ("Reason:", "Return policy", "Fwd is an acronym") are kept: a prefix needs its
separator (``:``, full-width ``：``, ``;``). Pure, never raises.
"""
# ruff: noqa: RUF002  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

from inbound.mime.subject_patterns import (
    BARE,
    FWD_PAREN,
    MAX_SUBJECT,
    PREFIX,
    SPACES,
    TAG,
    TRAILING_FWD_PAREN,
    TRAILING_TAG,
    WRAPPED,
    is_forward_subject,
)

__all__ = ["is_forward_subject", "normalize_subject"]


def _strip_once(text: str) -> str:
    wrapped = WRAPPED.match(text)
    if wrapped and text.endswith("]"):
        return text[1:-1].strip()
    for pattern in (PREFIX, TAG, FWD_PAREN):
        match = pattern.match(text)
        if match:
            return text[match.end() :].strip()
    for pattern in (TRAILING_FWD_PAREN, TRAILING_TAG):
        match = pattern.search(text)
        if match and match.start() > 0:
            return text[: match.start()].strip()
    if BARE.match(text):
        return ""
    return text


def normalize_subject(subject: str) -> str:
    """``subject`` without reply/forward prefixes, [tags] and counters; whitespace collapsed."""
    try:
        text = SPACES.sub(" ", (subject or "")[:MAX_SUBJECT]).strip()
        for _ in range(50):
            stripped = _strip_once(text)
            if stripped == text:
                break
            text = stripped
        return text
    except Exception:  # pragma: no cover - defensive
        return (subject or "").strip()
