"""PII never reaches the log output in clear."""

from __future__ import annotations

import io
import logging

from jemh.logging import Pii, PiiHashingFilter, pii_hash, redact


def _console_handler() -> logging.Handler:
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, PiiHashingFilter) for f in h.filters)]
    assert handlers, "the PII filter must be on the root handler by default"
    return handlers[0]


def test_configured_log_line_hashes_address_subject_and_message_id() -> None:
    handler = _console_handler()
    stream = io.StringIO()
    old = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        logging.getLogger("jemh.inbound").warning(
            "mail from %s id %s", "Dana.Doe@example.com", "<CAF=abc123@mail.gmail.com>")
        logging.getLogger("jemh.inbound").warning("processing %s", Pii.subject("Invoice 42 overdue"))
        logging.getLogger("jemh.inbound").warning("Subject: Secret merger talk")
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
    output = stream.getvalue()
    for secret in ("Dana.Doe", "example.com", "CAF=abc123", "Invoice 42", "Secret merger"):
        assert secret not in output
    assert pii_hash("dana.doe@example.com", "email") in output  # same input (any case) -> same hash
    assert "[msgid:" in output and "[subject:" in output


def test_hash_is_stable_and_distinguishes_inputs() -> None:
    assert pii_hash("a@example.com", "email") == pii_hash("A@Example.com ", "email")
    assert pii_hash("a@example.com", "email") != pii_hash("b@example.com", "email")
    assert redact("to bob@example.net, cc carol@example.net") == (
        f"to {pii_hash('bob@example.net', 'email')}, cc {pii_hash('carol@example.net', 'email')}")


def test_exception_text_is_redacted() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError("bad address eve@example.com")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    PiiHashingFilter().filter(record)
    assert "eve@example.com" not in (record.exc_text or "")
