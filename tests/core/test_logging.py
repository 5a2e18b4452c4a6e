"""PII never reaches the log output in clear."""

from __future__ import annotations

import logging

from jemh.logging import Pii, PiiHashingFilter, pii_hash, redact


def test_configured_log_line_hashes_address_subject_and_message_id(capsys, settings) -> None:
    import logging.config

    logging.config.dictConfig(settings.LOGGING)  # the project's logging, as every process starts with it
    logger = logging.getLogger("jemh.inbound")
    logger.warning("mail from %s id %s", "Dana.Doe@example.com", "<CAF=abc123@mail.gmail.com>")
    logger.warning("processing %s", Pii.subject("Invoice 42 overdue"))
    logger.warning("Subject: Secret merger talk")
    output = capsys.readouterr().err
    assert output.count("WARNING jemh.inbound") == 3
    for secret in ("Dana.Doe", "example.com", "CAF=abc123", "Invoice 42", "Secret merger"):
        assert secret not in output
    assert pii_hash("dana.doe@example.com", "email") in output  # same input (any case) -> same hash
    assert "[msgid:" in output and "[subject:" in output


def test_hash_is_stable_and_distinguishes_inputs() -> None:
    assert pii_hash("a@example.com", "email") == pii_hash("A@Example.com ", "email")
    assert pii_hash("a@example.com", "email") != pii_hash("b@example.com", "email")
    assert redact("to bob@example.net, cc carol@example.net") == (
        f"to {pii_hash('bob@example.net', 'email')}, cc {pii_hash('carol@example.net', 'email')}"
    )


def test_exception_text_is_redacted() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError("bad address eve@example.com")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    PiiHashingFilter().filter(record)
    assert "eve@example.com" not in (record.exc_text or "")
