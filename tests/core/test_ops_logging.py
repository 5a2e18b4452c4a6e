"""Logs and errors in production (issue 18): JSON log lines that keep the PII hashing, Sentry reports without mail
or local variables (sent to a real local endpoint), and one paragraph naming the variable instead of a traceback
when a command cannot reach PostgreSQL or Redis."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from tests.services.base import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def manage(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({"JEMH_VAR_DIR": str(tmp_path / "var"), **variables})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


LOG_SOME = """
import logging
log = logging.getLogger("jemh.test")
log.warning("mail from bob@customer.example", extra={"request": "<WSGIRequest: GET '/?who=carol@customer.example'>"})
try:
    raise ValueError("cannot deliver to alice@customer.example")
except ValueError:
    log.exception("processing <abc.123@mail.customer.example> failed")
"""


def test_json_logs_keep_personal_data_hashed(tmp_path: Path) -> None:
    result = manage(tmp_path, "shell", "-c", LOG_SOME, JEMH_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    by_logger = [line for line in lines if line["logger"] == "jemh.test"]
    assert len(by_logger) == 2
    warning, error = by_logger
    assert warning["level"] == "WARNING" and warning["message"].startswith("mail from [email:")
    assert "[email:" in warning["request"] and "time" in warning and isinstance(warning["pid"], int)
    assert error["message"].startswith("processing [msgid:")
    assert "ValueError: cannot deliver to [email:" in error["exc_info"]
    assert "customer.example" not in result.stderr  # nowhere: message, traceback or extra field


def test_an_unknown_log_format_is_named(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", JEMH_LOG_FORMAT="xml")
    assert result.returncode == 2
    assert "JEMH_LOG_FORMAT: 'xml' is not a log format. Expected plain or json." in result.stderr


def test_an_unreachable_postgresql_is_one_paragraph_naming_database_url(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = manage(tmp_path, "migrate", DATABASE_URL=f"postgres://jemh:hunter2@127.0.0.1:{port}/jemh")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("!!! WARNING")]
    assert len(said) == 1, result.stderr  # one paragraph (the warnings are about the keys generated for the test)
    assert f"Cannot reach the database: PostgreSQL at 127.0.0.1:{port}" in result.stderr
    assert "Check DATABASE_URL" in result.stderr and "hunter2" not in result.stderr


def test_an_unreachable_redis_is_one_paragraph_naming_celery_broker_url(tmp_path: Path) -> None:
    port = free_port()
    code = "from jemh.celery import app; app.connection_for_write().ensure_connection(max_retries=1)"
    result = manage(tmp_path, "shell", "-c", code, CELERY_BROKER_URL=f"redis://:hunter2@127.0.0.1:{port}/0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Cannot reach the Celery broker at redis://127.0.0.1:{port}" in result.stderr
    assert "Check CELERY_BROKER_URL (or REDIS_URL" in result.stderr and "hunter2" not in result.stderr


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


REPORT_AN_ERROR = """
import sentry_sdk
def deliver():
    recipient = "bob@customer.example"  # a local variable holding personal data
    raise RuntimeError(f"refused: {recipient}")
try:
    deliver()
except RuntimeError as exc:
    sentry_sdk.capture_exception(exc)
sentry_sdk.flush(5)
"""


def test_sentry_reports_carry_no_mail_and_no_local_variables(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Envelopes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Envelopes.received = []
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
        result = manage(tmp_path, "shell", "-c", REPORT_AN_ERROR, SENTRY_DSN=dsn)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    body = b"".join(_Envelopes.received).decode()
    events = [json.loads(line) for line in body.splitlines() if line.startswith("{") and '"exception"' in line]
    assert len(events) == 1, body[:2000]
    exception = events[0]["exception"]["values"][0]
    assert exception["type"] == "RuntimeError" and exception["value"].startswith("refused: [email:")
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])
    leaks = [body[max(i - 150, 0) : i + 50] for i in range(len(body)) if body.startswith("customer.example", i)]
    assert not leaks, leaks
