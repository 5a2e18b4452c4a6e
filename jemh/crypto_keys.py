"""Where the long-lived keys come from: JEMH_ENCRYPTION_KEYS and JEMH_INDEX_KEY, or key files generated once under
var/."""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet

from jemh import config

KEY_HELP = (
    "a comma-separated list of Fernet keys (32 url-safe base64-encoded bytes each; the first encrypts, "
    "all decrypt). Make one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


def validate_keys(keys: list[str], variable: str) -> list[str]:
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except Exception as exc:
            raise config.fail(variable, f"key number {position} is not a valid Fernet key", KEY_HELP) from exc
    return keys


def load_encryption_keys(env: environ.Env, production: bool, var_dir: Path) -> list[str]:
    keys = [k.strip() for k in env.list("JEMH_ENCRYPTION_KEYS", default=[]) if k.strip()]
    if keys:
        return validate_keys(keys, "JEMH_ENCRYPTION_KEYS")
    if production:
        raise config.fail("JEMH_ENCRYPTION_KEYS", "is not set while JEMH_PRODUCTION=true", KEY_HELP)
    path = var_dir / "encryption.key"
    if config.create_secret_file(path, Fernet.generate_key().decode() + "\n"):
        config.warn(
            f"generated a new encryption key in {path}. Everything encrypted at rest depends on it: "
            "back it up, and in production set JEMH_ENCRYPTION_KEYS instead."
        )
    return validate_keys([path.read_text().strip()], str(path))


INDEX_KEY_HELP = (
    "a long random string (50+ characters) that never changes: it keys the hashes the database finds values by. "
    "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
)


def load_index_key(env: environ.Env, production: bool, var_dir: Path) -> str:
    """JEMH_INDEX_KEY: the long-lived key of the keyed hashes (blind indexes), independent of SECRET_KEY.

    Outside production it is generated once into ``var/index.key`` (like the encryption key). It is not meant to
    be rotated: every stored hash depends on it, so a new key would make every existing row unfindable.
    """
    value = env.str("JEMH_INDEX_KEY", default="").strip()
    if value:
        if production and len(value) < 50:
            raise config.fail("JEMH_INDEX_KEY", "is shorter than 50 characters", INDEX_KEY_HELP)
        return value
    if production:
        raise config.fail("JEMH_INDEX_KEY", "is not set while JEMH_PRODUCTION=true", INDEX_KEY_HELP)
    path = var_dir / "index.key"
    if config.create_secret_file(path, secrets.token_urlsafe(64) + "\n"):
        config.warn(
            f"generated a new index key in {path}. Every stored look-up hash depends on it: back it up, and in "
            "production set JEMH_INDEX_KEY instead."
        )
    return path.read_text().strip()


def generated_keys(env: environ.Env, var_dir: Path) -> dict[str, tuple[str, str]]:
    """The long-lived keys read from files generated on this machine (not given in the environment), by their
    variable: ``{"JEMH_ENCRYPTION_KEYS": ("encryption key", "/…/var/encryption.key"), ...}``. The status dashboard
    warns while there are any."""
    found: dict[str, tuple[str, str]] = {}
    if not [k for k in env.list("JEMH_ENCRYPTION_KEYS", default=[]) if k.strip()]:
        found["JEMH_ENCRYPTION_KEYS"] = ("encryption key", str(var_dir / "encryption.key"))
    if not env.str("JEMH_INDEX_KEY", default="").strip():
        found["JEMH_INDEX_KEY"] = ("index key", str(var_dir / "index.key"))
    return found
