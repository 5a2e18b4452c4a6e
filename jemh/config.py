"""Reading settings from the environment, with errors that name the variable and say what is expected."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


class ConfigError(ImproperlyConfigured):
    """A setting from the environment is missing or unusable."""


def fail(variable: str, problem: str, expected: str) -> ConfigError:
    return ConfigError(f"{variable}: {problem}. Expected {expected}.")


def database(env: environ.Env, default_sqlite: Path) -> dict[str, Any]:
    raw = env.str("DATABASE_URL", default="")
    if not raw:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite)}
    scheme = urlsplit(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise fail(
            "DATABASE_URL",
            f"unsupported scheme {scheme or '(none)'!r}",
            "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:////absolute/path.sqlite3",
        )
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise fail("DATABASE_URL", f"cannot be parsed ({exc})", "postgres://USER:PASSWORD@HOST:PORT/NAME") from exc
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise fail("DATABASE_URL", "has no database name", "postgres://USER:PASSWORD@HOST:PORT/NAME")
    config.setdefault("CONN_MAX_AGE", 60)
    if config["ENGINE"].endswith("postgresql") and env.bool("JEMH_DB_PREPARED_STATEMENTS", default=True):
        # Parameters bound by the server, and a statement run five times on a connection prepared there: every
        # mail runs the same few statements, so PostgreSQL plans each once per connection instead of per mail.
        # Off for a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
        config.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
    return config


def broker_url(env: environ.Env, var_dir: Path) -> tuple[str, dict[str, Any], str | None]:
    """Return (broker URL, transport options, result backend)."""
    raw = env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="")
    name = "CELERY_BROKER_URL" if env.str("CELERY_BROKER_URL", default="") else "REDIS_URL"
    if not raw:
        folder = var_dir / "celery"
        for sub in ("queue", "processed", "results", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),  # kombu's default is ./control, in the working directory
            "store_processed": False,
            "polling_interval": 0.1,
        }
        # the host is only named so kombu does not warn "No hostname was supplied" on every command
        return "filesystem://localhost/", options, f"file://{folder / 'results'}"
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "filesystem", "memory"}:
        raise fail(name, f"unsupported scheme {parts.scheme or '(none)'!r}", "redis://HOST:PORT/DB")
    if parts.scheme.startswith("redis"):
        if not parts.hostname:
            raise fail(name, "has no host", "redis://HOST:PORT/DB")
        try:
            _ = parts.port
        except ValueError as exc:
            raise fail(name, "has an invalid port", "redis://HOST:PORT/DB") from exc
        result = env.str("CELERY_RESULT_BACKEND", default=raw)
        return raw, {"visibility_timeout": 3600}, result
    return raw, {}, env.str("CELERY_RESULT_BACKEND", default="") or None


def email(env: environ.Env, outbox: Path) -> dict[str, Any]:
    raw = env.str("EMAIL_URL", default="")
    if not raw:
        outbox.mkdir(parents=True, exist_ok=True)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(outbox),
        }
    scheme = urlsplit(raw).scheme
    if scheme not in {"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail"}:
        raise fail(
            "EMAIL_URL",
            f"unsupported scheme {scheme or '(none)'!r}",
            "smtp://USER:PASSWORD@HOST:PORT (or smtp+tls://, smtps://)",
        )
    try:
        config = environ.Env.email_url_config(raw)
    except Exception as exc:
        raise fail("EMAIL_URL", f"cannot be parsed ({exc})", "smtp://USER:PASSWORD@HOST:PORT") from exc
    if scheme.startswith("smtp") and not config.get("EMAIL_HOST"):
        raise fail("EMAIL_URL", "has no host", "smtp://USER:PASSWORD@HOST:PORT")
    config.setdefault("EMAIL_TIMEOUT", 30)
    return config


def blob_storage(env: environ.Env, var_dir: Path, prefix: str = "JEMH_") -> dict[str, Any]:
    """The backend under the encrypting storage: S3 when ``{prefix}S3_BUCKET`` is set, else the filesystem (under
    ``{prefix}BLOB_PATH`` when set, else ``var_dir/blobs``)."""
    bucket = env.str(f"{prefix}S3_BUCKET", default="")
    if not bucket:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": env.str(f"{prefix}BLOB_PATH", default="") or str(var_dir / "blobs")},
        }
    endpoint = env.str(f"{prefix}S3_ENDPOINT_URL", default="") or None
    if endpoint and urlsplit(endpoint).scheme not in {"http", "https"}:
        raise fail(f"{prefix}S3_ENDPOINT_URL", f"{endpoint!r} is not an http(s) URL", "https://s3.example.com")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": env.str(f"{prefix}S3_REGION", default="us-east-1"),
        "access_key": env.str(f"{prefix}S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str(f"{prefix}S3_SECRET_ACCESS_KEY", default="") or None,
        "location": env.str(f"{prefix}S3_PREFIX", default=""),
        "default_acl": None,
        "file_overwrite": False,
        "addressing_style": env.str(f"{prefix}S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def blob_storages(env: environ.Env, var_dir: Path) -> dict[str, dict[str, Any]]:
    """The further blob storages an instance may name for its data (residency): ``JEMH_BLOB_STORAGES=eu,us``, each
    configured like the default one under its own prefix (``JEMH_STORAGE_EU_S3_BUCKET``, ``..._S3_REGION``,
    ``..._S3_ENDPOINT_URL``, ``..._S3_ACCESS_KEY_ID``, ``..._S3_SECRET_ACCESS_KEY``, ``..._S3_PREFIX``; or
    ``JEMH_STORAGE_EU_BLOB_PATH`` for a folder)."""
    found: dict[str, dict[str, Any]] = {}
    for raw in env.str("JEMH_BLOB_STORAGES", default="").split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if not STORAGE_NAME.fullmatch(name):
            raise fail("JEMH_BLOB_STORAGES", f"{raw.strip()!r} is not a storage name", "names like eu,us (a-z, 0-9, -)")
        prefix = f"JEMH_STORAGE_{name.upper().replace('-', '_')}_"
        if not env.str(f"{prefix}S3_BUCKET", default="") and not env.str(f"{prefix}BLOB_PATH", default=""):
            raise fail(f"{prefix}S3_BUCKET", f"storage {name!r} has no bucket and no folder", f"{prefix}S3_BUCKET")
        found[name] = blob_storage(env, var_dir, prefix)
    return found


def secret_key(env: environ.Env, production: bool, var_dir: Path) -> str:
    value = env.str("SECRET_KEY", default="")
    if value:
        if production and len(value) < 50:
            raise fail("SECRET_KEY", "is shorter than 50 characters", "a long random string (50+ characters)")
        return value
    if production:
        raise fail("SECRET_KEY", "is not set while JEMH_PRODUCTION=true", "a long random string (50+ characters)")
    path = var_dir / "secret_key"
    create_secret_file(path, secrets.token_urlsafe(64))
    return path.read_text().strip()


def create_secret_file(path: Path, content: str) -> bool:
    """Write ``content`` to a new file at ``path`` that is created readable by its owner only (mode 0600 from the
    first byte, never written first and restricted after). An existing file is left as it is (another process
    of the same start may have made it a moment ago). Returns whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def warn(message: str) -> None:
    print(f"\n!!! WARNING: {message}\n", file=sys.stderr)


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def boolean(env: environ.Env, variable: str, default: bool) -> bool:
    """A strict boolean: a typo must not silently turn a safety switch off."""
    raw = env.str(variable, default="true" if default else "false").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise fail(variable, f"{raw!r} is not a boolean", "true or false")


def integer(env: environ.Env, variable: str, default: int) -> int:
    raw = env.str(variable, default=str(default)).strip()
    try:
        return int(raw)
    except ValueError as exc:
        raise fail(variable, f"{raw!r} is not a whole number", "a whole number") from exc


def http_url(env: environ.Env, variable: str) -> str:
    """An optional http(s) URL ("" when unset)."""
    value = env.str(variable, default="").strip()
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname):
        raise fail(variable, f"{value!r} is not an http(s) URL", "https://hooks.slack.com/services/...")
    return value
