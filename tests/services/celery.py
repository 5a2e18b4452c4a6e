"""Pointing the project's Celery app at another broker (and result backend) for the length of a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KEYS = ("broker_url", "broker_transport_options", "result_backend", "task_always_eager")


def reset_connections(app: Any) -> None:
    """Forget connections, producers and the result backend made for the previous configuration
    (``app.close()`` alone keeps the producer pool and the backend)."""
    app.close()
    app.amqp._producer_pool = None
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@contextmanager
def celery_pointed_at(broker_url: str, result_backend: str | None = None) -> Iterator[Any]:
    from jemh.celery import app

    saved = {key: app.conf[key] for key in KEYS}
    # Celery reads CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the environment before its configuration (the
    # test settings set the first to memory://): point those too, or the "Redis" broker silently stays in memory
    wanted = {"CELERY_BROKER_URL": broker_url, "CELERY_RESULT_BACKEND": result_backend}
    saved_env = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    app.conf.update(
        broker_url=broker_url, result_backend=result_backend, broker_transport_options={}, task_always_eager=False
    )
    reset_connections(app)
    try:
        yield app
    finally:
        for name, old in saved_env.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        app.conf.update(saved)
        reset_connections(app)
