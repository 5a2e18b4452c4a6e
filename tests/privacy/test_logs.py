"""privacy.md, "logs": subjects, addresses and message ids appear only as keyed hashes. Varied mail carrying
marker addresses, names and subjects is processed with every logger at DEBUG, through the handler configuration
the project ships (settings.LOGGING's PII filter); no marker may reach a log line."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings

from inbound.models import InboundMessage

pytestmark = pytest.mark.django_db

MARKERS = ("zyxmarker", "Zyxname", "Zyxsubject")


def mails() -> Iterator[bytes]:
    plain = EmailMessage()
    plain["From"], plain["To"] = "Zyxname Customer <zyxmarker@customer.example>", "support@support.example.com"
    plain["Subject"], plain["Message-ID"] = "Zyxsubject: printer on fire", "<zyxmarker-1@customer.example>"
    plain.set_content("Zyxname here, from zyxmarker@customer.example.")
    yield plain.as_bytes()
    bounce = (
        "From: MAILER-DAEMON@mx.example (Mail Delivery System)\r\nTo: support@support.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender: Zyxsubject\r\nMessage-ID: <zyxmarker-2@mx.example>\r\n"
        "Auto-Submitted: auto-replied\r\n\r\n<zyxmarker@customer.example>: host said: 550 unknown user\r\n"
    )
    yield bounce.encode()
    broken = (
        "From: =?utf-8?q?Zyxname_=E2=80=AE?= <zyxmarker@customer.example>\r\nTo: support@support.example.com\r\n"
        "Subject: =?utf-8?b?Wnl4c3ViamVjdA==?=\r\nContent-Type: multipart/mixed; boundary=never-closed\r\n\r\n"
        "--never-closed\r\nContent-Type: text/html\r\n\r\n<p>Zyxname <script>alert(1)</script>\r\n"
    )
    yield broken.encode()


@pytest.fixture()
def debug_log() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into a stream, through the handler and filter settings.LOGGING configures."""
    stream = io.StringIO()
    config: dict[str, Any] = dict(settings.LOGGING)
    handlers = {**config["handlers"], "console": {**config["handlers"]["console"], "stream": stream}}
    logging.config.dictConfig({**config, "handlers": handlers, "root": {**config["root"], "level": "DEBUG"}})
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def test_no_marker_reaches_a_log_line(debug_log: io.StringIO, deliver: Callable[..., InboundMessage]) -> None:
    outcomes = [deliver(raw).outcome for raw in mails()]
    assert all(outcomes), outcomes
    logging.getLogger("jemh.test").debug("a DEBUG line: the capture works")
    text = debug_log.getvalue()
    assert "a DEBUG line: the capture works" in text
    assert [m for m in MARKERS if m.lower() in text.lower()] == []


def test_wire_loggers_are_held_at_info() -> None:
    """imapclient logs every IMAP command and response (the mail itself) at DEBUG."""
    configured: dict[str, Any] = dict(settings.LOGGING)
    loggers: dict[str, Any] = configured["loggers"]
    for name in ("imapclient", "imapclient.imaplib"):
        assert loggers.get(name, {}).get("level") == "INFO", name
