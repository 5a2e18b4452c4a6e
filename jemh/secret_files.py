"""Secrets from files: ``NAME_FILE=PATH`` sets ``NAME`` to the file's content, for the variables that carry secrets.

Container secrets (compose, Kubernetes) arrive as files under ``/run/secrets/``; reading them here, when the
settings load, serves every process alike: the web, worker and beat processes and any ``manage.py`` command run
later in the same container (``docker compose exec web python manage.py ...``), which an entry-point script that
exports the values would not reach. ``PGPASSWORD`` is read by libpq itself (a ``DATABASE_URL`` without a password).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from jemh import config

# Only these: a name is read from a file when NAME_FILE is set (a list, so that unrelated *_FILE variables of the
# environment are left alone).
SECRET_VARIABLES = (
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "JEMH_ENCRYPTION_KEYS",
    "JEMH_INDEX_KEY",
    "JEMH_LOG_HASH_KEY",
    "DATABASE_URL",
    "PGPASSWORD",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "REDIS_URL",
    "EMAIL_URL",
    "JEMH_S3_ACCESS_KEY_ID",
    "JEMH_S3_SECRET_ACCESS_KEY",
    "JEMH_CHAT_WEBHOOK_URL",
    "SENTRY_DSN",
)


def load(environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Set each secret variable whose ``NAME_FILE`` is given from that file (trailing newlines dropped) and remove
    ``NAME_FILE``; returns the names set. Both ``NAME`` and ``NAME_FILE`` set, or an unreadable file, is a
    configuration error."""
    loaded = []
    for name in SECRET_VARIABLES:
        path = environ.get(f"{name}_FILE", "")
        if not path:
            continue
        if environ.get(name):
            raise config.fail(f"{name}_FILE", f"is set together with {name}", f"only one of {name} and {name}_FILE")
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise config.fail(
                f"{name}_FILE", f"names a file that cannot be read ({error.strerror})", "a file this user can read"
            ) from error
        environ[name] = value
        del environ[f"{name}_FILE"]  # processes started from this one inherit the value, not both
        loaded.append(name)
    return loaded
