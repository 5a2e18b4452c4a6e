"""NAME_FILE=PATH for the secret variables (jemh/secret_files.py): container secrets read when the settings load."""

from __future__ import annotations

from pathlib import Path

import pytest

from jemh import config, secret_files


def test_a_secret_is_read_from_its_file_and_the_file_variable_removed(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("s" * 60 + "\n")
    (tmp_path / "pg").write_text("pw with spaces\n\n")
    environ = {"SECRET_KEY_FILE": str(tmp_path / "secret_key"), "PGPASSWORD_FILE": str(tmp_path / "pg")}
    assert secret_files.load(environ) == ["SECRET_KEY", "PGPASSWORD"]
    assert environ == {"SECRET_KEY": "s" * 60, "PGPASSWORD": "pw with spaces"}


def test_other_file_variables_are_left_alone(tmp_path: Path) -> None:
    environ = {"TF_CLI_CONFIG_FILE": str(tmp_path / "nothing"), "EMAIL_FILE_PATH": "/tmp/outbox"}
    assert secret_files.load(environ) == []
    assert environ == {"TF_CLI_CONFIG_FILE": str(tmp_path / "nothing"), "EMAIL_FILE_PATH": "/tmp/outbox"}


def test_both_set_or_an_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k")
    with pytest.raises(config.ConfigError, match="JEMH_INDEX_KEY_FILE: is set together with JEMH_INDEX_KEY"):
        secret_files.load({"JEMH_INDEX_KEY": "x", "JEMH_INDEX_KEY_FILE": str(tmp_path / "key")})
    with pytest.raises(config.ConfigError, match="SECRET_KEY_FILE: names a file that cannot be read"):
        secret_files.load({"SECRET_KEY_FILE": str(tmp_path / "missing")})
