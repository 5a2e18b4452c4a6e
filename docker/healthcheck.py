"""The image's health check (HEALTHCHECK, compose's healthcheck): exit 0 when this container's role is healthy.

The role is read from the container's main process (PID 1, which docker/entrypoint.sh replaced with the role):

- web: ``/health/ready`` answers 200 (database, broker, storage, migrations); while that endpoint does not exist
  yet (404), ``/health/`` answering 200. Sent as through the TLS proxy (``X-Forwarded-Proto: https``, host
  ``localhost``), so that HTTPS redirects in production do not fail it.
- worker and beat: ``manage.py jemh health --role ROLE`` (their heartbeats) where that subcommand exists; else
  the worker answers a Celery ping addressed to it (``worker@HOSTNAME``), and for beat the database and the broker
  are reachable (beat needs both to send due tasks).
- anything else (one-shot commands): healthy.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path


def _role() -> str:
    argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    words = [Path(word.decode(errors="replace")).name for word in argv if word]
    if any(word.startswith("gunicorn") for word in words):
        return "web"
    if "celery" in words or any(word.endswith("celery") for word in words):
        return "beat" if "beat" in words else "worker" if "worker" in words else "other"
    return "other"


def _get(path: str) -> int:
    port = os.environ.get("JEMH_BIND", "0.0.0.0:8000").rsplit(":", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": "localhost", "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        print(f"{path}: {error.code} {error.read()[:500]!r}", file=sys.stderr)
        return int(error.code)


def web() -> bool:
    status = _get("/health/ready")
    if status == 404:  # an older version without the readiness endpoint
        status = _get("/health/")
    return status == 200


def _django() -> None:
    import django

    django.setup()


def _jemh_health(role: str) -> bool | None:
    """``jemh health --role ROLE``'s verdict, or None where this version has no such subcommand."""
    from jemh.cli import SUBCOMMANDS

    if "health" not in SUBCOMMANDS:
        return None
    from django.core.management import call_command

    try:
        call_command("jemh", "health", "--role", role)
    except SystemExit as ended:
        return ended.code in (0, None)
    return True


def worker() -> bool:
    _django()
    verdict = _jemh_health("worker")
    if verdict is not None:
        return verdict
    from jemh.celery import app

    name = f"worker@{socket.gethostname()}"
    answers = app.control.ping(destination=[name], timeout=5)
    if not answers:
        print(f"{name} did not answer a ping", file=sys.stderr)
    return bool(answers)


def beat() -> bool:
    _django()
    verdict = _jemh_health("beat")
    if verdict is not None:
        return verdict
    from django.db import connection

    from jemh.celery import app

    connection.ensure_connection()
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=5)
    return True


def main() -> int:
    role = _role()
    checks = {"web": web, "worker": worker, "beat": beat}
    if role not in checks:
        return 0
    try:
        healthy = checks[role]()
    except Exception as error:  # any failure to check is unhealthy, with its reason in the health log
        print(f"{role}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
