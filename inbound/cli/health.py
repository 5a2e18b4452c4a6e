"""``jemh health --role web|worker|beat``: a container's health check. Exit 0 when healthy, 1 when not (with the
reason on stdout as JSON).

- ``web``: GET the readiness endpoint of the web server on this machine (``--address``, default
  127.0.0.1:$PORT or 127.0.0.1:8000); ``--no-http`` runs the same checks in this process instead.
- ``worker``: a Celery worker on this host beat within ``JEMH_WORKER_STALE_SECONDS``.
- ``beat``: Celery beat on this host beat within ``JEMH_BEAT_STALE_SECONDS``.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any, TextIO

from django.conf import settings
from django.db import DatabaseError

from inbound import heartbeat
from jemh import health

HELP = "check this process's role (web, worker, beat) for a container health check; exit 0 healthy, 1 not"
ROLES = ("web", "worker", "beat")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--address", default="", help="web: HOST:PORT of the web server (default 127.0.0.1:$PORT)")
    parser.add_argument("--no-http", action="store_true", help="web: run the readiness checks in this process")
    parser.add_argument("--timeout", type=float, default=10.0, help="web: seconds to wait for the answer")


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    role = options["role"]
    web = _web_in_process if options["no_http"] else _web_over_http
    report = web(options) if role == "web" else _role(role)
    out.write(json.dumps(report, sort_keys=True) + "\n")
    return 0 if report["status"] == "ok" else 1


def _role(role: str) -> dict[str, Any]:
    try:
        state = heartbeat.liveness(role)
    except DatabaseError as exc:
        return {"status": "fail", "role": role, "reason": f"cannot read heartbeats ({health.reason(exc)})"}
    return {"status": "ok" if state.alive else "fail", "role": role, "reason": state.describe()}


def _web_in_process(options: dict[str, Any]) -> dict[str, Any]:
    results = health.ready_results()
    failed = {name: reason for name, reason in results.items() if reason}
    return {
        "status": "fail" if failed else "ok",
        "role": "web",
        "checks": {name: reason or "ok" for name, reason in results.items()},
    }


def _host_header() -> str:
    """A host name the web accepts (ALLOWED_HOSTS), so the check passes Django's host validation."""
    for name in settings.ALLOWED_HOSTS:
        if name and name != "*" and not name.startswith("."):
            return name
    return "localhost"


def _web_over_http(options: dict[str, Any]) -> dict[str, Any]:
    address = options["address"] or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
    url = f"http://{address}/health/ready"
    # X-Forwarded-Proto: behind a TLS proxy (JEMH_BEHIND_PROXY) the web would otherwise redirect to https
    request = urllib.request.Request(url, headers={"Host": _host_header(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=options["timeout"]) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return {"status": "fail", "role": "web", "reason": f"{url} answered {exc.code}", "checks": body.get("checks")}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"status": "fail", "role": "web", "reason": f"{url} did not answer ({health.reason(exc)})"}
    return {"status": "ok", "role": "web", "checks": body.get("checks", {})}
