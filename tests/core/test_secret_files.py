"""Key and secret files (var/encryption.key, var/index.key, var/secret_key) are created with their final
permissions: readable by their owner only from the first byte, never written first and chmod'ed after."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import environ
import pytest

from jemh import config, crypto_keys


@pytest.fixture()
def open_umask() -> object:
    previous = os.umask(0)  # the most permissive umask: a plain write would make the file world-readable
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_key_files_are_private_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: object
) -> None:
    # no chmod after the fact: the mode must come from the creating open() itself
    monkeypatch.setattr(os, "chmod", lambda *a, **k: pytest.fail("chmod used after writing"))
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: pytest.fail("chmod used after writing"))
    env = environ.Env()
    for name in ("JEMH_ENCRYPTION_KEYS", "JEMH_INDEX_KEY", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    crypto_keys.load_encryption_keys(env, False, tmp_path)
    crypto_keys.load_index_key(env, False, tmp_path)
    config.secret_key(env, False, tmp_path)
    for name in ("encryption.key", "index.key", "secret_key"):
        assert mode(tmp_path / name) == 0o600, name


def test_an_existing_key_file_is_kept_as_it_is(tmp_path: Path) -> None:
    """Two processes starting at once (web, worker, beat): the second reads the first one's key."""
    path = tmp_path / "index.key"
    assert config.create_secret_file(path, "first\n") is True
    assert config.create_secret_file(path, "second\n") is False
    assert path.read_text() == "first\n"
