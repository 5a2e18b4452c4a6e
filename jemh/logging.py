"""PII-safe logging: addresses, subjects and message ids appear in logs only as keyed hashes.

The same input always gives the same hash (HMAC-SHA256 keyed by JEMH_LOG_HASH_KEY), so "is this the
same mail?" can still be answered from logs without the logs holding the data.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from pythonjsonlogger.json import JsonFormatter as JsonFormatterBase

from jemh.crypto import salted_hash

EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
# A Message-ID in angle brackets: "<anything-without-spaces@anything>"
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+@[^<>\s]+>")
# "Subject: ..." as found in header dumps, up to the end of the line.
SUBJECT_RE = re.compile(r"(?im)(\bsubject\s*[:=]\s*)(?!\[subject:[0-9a-f]{12}\])(.+)$")


@lru_cache(maxsize=1)
def _key() -> str:
    try:
        return str(settings.JEMH_LOG_HASH_KEY)
    except Exception:  # logging before settings are ready must still never leak
        return "jemh-unconfigured"


@lru_cache(maxsize=1)
def _enabled() -> bool:
    try:
        return bool(getattr(settings, "JEMH_LOG_PII_HASHING", True))
    except Exception:
        return True


def pii_hash(value: str, kind: str) -> str:
    normalized = value.strip().lower().encode("utf-8", "surrogatepass")
    return f"[{kind}:{salted_hash('log-hash:', normalized, _key())[:12]}]"


class Pii:
    """Wrap a value passed to a logger so it is always logged hashed: ``log.info("s=%s", Pii.subject(s))``."""

    __slots__ = ("kind", "value")

    def __init__(self, value: object, kind: str) -> None:
        self.value = "" if value is None else str(value)
        self.kind = kind

    def __str__(self) -> str:
        return pii_hash(self.value, self.kind)

    __repr__ = __str__

    @classmethod
    def subject(cls, value: object) -> Pii:
        return cls(value, "subject")

    @classmethod
    def address(cls, value: object) -> Pii:
        return cls(value, "email")

    @classmethod
    def message_id(cls, value: object) -> Pii:
        return cls(value, "msgid")


def redact(text: str) -> str:
    text = MESSAGE_ID_RE.sub(lambda m: pii_hash(m.group(0)[1:-1], "msgid"), text)
    text = SUBJECT_RE.sub(lambda m: m.group(1) + pii_hash(m.group(2), "subject"), text)
    return EMAIL_RE.sub(lambda m: pii_hash(m.group(0), "email"), text)


class PiiHashingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with PII replaced by keyed hashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _enabled():
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _safe(value: object) -> object:
    """A field of a JSON log line: numbers and booleans as they are, anything else as redacted text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    text = value if isinstance(value, str) else str(value)
    return redact(text) if _enabled() else text


class JsonFormatter(JsonFormatterBase):
    """One JSON object per line (``JEMH_LOG_FORMAT=json``), as PII-safe as the plain format: the message and the
    traceback as the PII filter left them, and every extra field (Django's ``request``, for one) redacted."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info = record.exc_info
        if record.exc_text:  # already formatted and redacted by PiiHashingFilter: never format it again
            record.exc_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info = exc_info

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _safe(value) for key, value in log_data.items()}
