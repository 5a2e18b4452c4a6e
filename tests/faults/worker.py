"""A real Celery worker for the fault tests, with test-only faults injected into message parsing.

    python -m tests.faults.worker [celery worker options]

``JEMH_TEST_SLOW=S`` makes parsing every message take S seconds (so a test can kill a worker mid-group).
A message with the header ``X-Test-Hang: soft`` hangs until Celery's soft time limit interrupts it;
``X-Test-Hang: hard`` ignores the soft limit and hangs until the hard limit kills the process.
The patches are applied in the main process before the pool forks, so every pool process has them.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _install_faults() -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    import inbound.pipeline.service as service

    slow = float(os.environ.get("JEMH_TEST_SLOW", "0") or 0)
    original = service.parse

    def parse(raw: bytes, **kwargs: Any) -> Any:
        head = raw[:4096]
        if b"X-Test-Hang: soft" in head:
            time.sleep(3600)
        if b"X-Test-Hang: hard" in head:
            while True:
                try:
                    time.sleep(3600)
                except SoftTimeLimitExceeded:
                    continue
        if slow:
            time.sleep(slow)
        return original(raw, **kwargs)

    service.parse = parse


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    import django

    django.setup()
    from jemh.celery import app

    app.loader.import_default_modules()
    _install_faults()
    from inbound.pipeline.tasks import process_messages

    limits = (process_messages.soft_time_limit, process_messages.time_limit)
    print(f"fault-test worker: time limits {limits}, database {os.environ.get('DATABASE_URL', '')[:8]}", flush=True)
    app.worker_main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
