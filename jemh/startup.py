"""What to tell an operator when a command cannot reach the database or the broker: one paragraph naming the
variable and what to check, instead of a traceback (``manage.py`` prints it and exits 1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def _where_database() -> str:
    config = settings.DATABASES["default"]
    if "sqlite" in config.get("ENGINE", ""):
        return f"the SQLite file {config.get('NAME')}"
    host, port = config.get("HOST") or "localhost", config.get("PORT") or 5432
    return f"PostgreSQL at {host}:{port} (database {config.get('NAME')!r})"


def _where_broker() -> str:
    parts = urlsplit(str(getattr(settings, "CELERY_BROKER_URL", "")))
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"  # no password


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def explain(exc: BaseException) -> str | None:
    """The paragraph for an unreachable database or broker; None for any other error (it is raised as it is)."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, OperationalError | InterfaceError):
        return (
            f"Cannot reach the database: {_where_database()} answered {_first_line(exc)!r}. "
            "Check DATABASE_URL (host, port, user, password and database name), that the server is running and "
            "accepts connections from this machine (firewall, pg_hba.conf), and that the database exists; then "
            "run this command again."
        )
    if isinstance(exc, BrokerError | RedisConnectionError | RedisTimeoutError):
        return (
            f"Cannot reach the Celery broker at {_where_broker()}: {_first_line(exc)}. Check CELERY_BROKER_URL "
            "(or REDIS_URL, used when CELERY_BROKER_URL is not set): host, port, password and database number, and "
            "that Redis is running and reachable from this machine; then run this command again."
        )
    return None
