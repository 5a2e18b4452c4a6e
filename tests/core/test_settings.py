"""Start-up configuration: embedded defaults work, and a wrong setting stops start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent.parent
PASSTHROUGH = ("PATH", "HOME", "LANG", "PYTHONPATH")


def manage(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH}
    env.update({"JEMH_VAR_DIR": str(tmp_path / "var"), **variables})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "JEMH_PRODUCTION": "true",
        "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode() + "y" * 20,
        "JEMH_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "JEMH_INDEX_KEY": "i" * 20 + Fernet.generate_key().decode() + "j" * 20,
        "ALLOWED_HOSTS": "mail.example.com",
        "DATABASE_URL": "postgres://jemh:pw@127.0.0.1:5432/jemh",
        **extra,
    }


def test_embedded_defaults_need_no_configuration(tmp_path: Path) -> None:
    result = manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "encryption.key").exists()
    assert "WARNING: generated a new encryption key" in result.stderr
    assert (tmp_path / "var" / "index.key").exists()
    assert "WARNING: generated a new index key" in result.stderr
    assert (tmp_path / "var" / "outbox").is_dir()
    again = manage(tmp_path, "check")
    assert "generated a new encryption key" not in again.stderr  # generated once
    assert "generated a new index key" not in again.stderr


@pytest.mark.parametrize(
    ("variables", "named", "expected"),
    [
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL", "postgres://"),
        ({"DATABASE_URL": "postgres://u:p@h:5432"}, "DATABASE_URL", "database name"),
        ({"CELERY_BROKER_URL": "amqp://guest@localhost//"}, "CELERY_BROKER_URL", "redis://"),
        ({"REDIS_URL": "redis://:6379/0"}, "REDIS_URL", "host"),
        ({"EMAIL_URL": "smtp://"}, "EMAIL_URL", "host"),
        ({"EMAIL_URL": "imap://mail"}, "EMAIL_URL", "smtp://"),
        ({"JEMH_ENCRYPTION_KEYS": "not-a-key"}, "JEMH_ENCRYPTION_KEYS", "Fernet"),
        ({"JEMH_S3_BUCKET": "b", "JEMH_S3_ENDPOINT_URL": "ftp://x"}, "JEMH_S3_ENDPOINT_URL", "http"),
        ({"JEMH_PRODUCTION": "maybe"}, "JEMH_PRODUCTION", "true or false"),
    ],
)
def test_wrong_setting_names_the_variable(tmp_path: Path, variables: dict[str, str], named: str, expected: str) -> None:
    result = manage(tmp_path, "check", **variables)
    assert result.returncode != 0
    assert named in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["JEMH_ENCRYPTION_KEYS", "JEMH_INDEX_KEY", "SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_mode_requires_keys(tmp_path: Path, missing: str) -> None:
    variables = production()
    del variables[missing]
    result = manage(tmp_path, "check", **variables)
    assert result.returncode != 0
    assert missing in result.stderr and "JEMH_PRODUCTION" in result.stderr
    assert not (tmp_path / "var" / "encryption.key").exists()
    assert not (tmp_path / "var" / "index.key").exists()


def test_production_mode_rejects_a_short_index_key(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", **production(JEMH_INDEX_KEY="short"))
    assert result.returncode != 0
    assert "JEMH_INDEX_KEY" in result.stderr and "50 characters" in result.stderr


def test_check_deploy_with_production_variables_is_clean(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production(SECURE_HSTS_PRELOAD="true"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_broker_keeps_all_its_files_under_var(tmp_path: Path) -> None:
    script = (
        "from django.conf import settings as s; import json; "
        "print(json.dumps([s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS]))"
    )
    result = manage(tmp_path, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    import json

    url, options = json.loads(result.stdout.strip().splitlines()[-1])
    assert url == "filesystem://localhost/"
    assert "No hostname was supplied" not in result.stderr  # regression: kombu warned on every command
    folders = [value for key, value in options.items() if key.endswith("folder") or key.startswith("data_folder")]
    assert {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"} <= set(options)
    assert all(str(tmp_path / "var") in folder for folder in folders)


def _tree(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def test_the_type_checkers_settings_write_nothing(tmp_path: Path) -> None:
    """mypy's django-stubs plugin imports jemh.settings_typecheck: no key is generated, no folder made in the tree."""
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH}
    env.update({"TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)})
    before = _tree(ROOT / "var")
    code = "import mypy, jemh.settings_typecheck as s; print(s.VAR_DIR)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((tmp_path / "jemh-typecheck").resolve())
    assert _tree(tmp_path) == {tmp_path / "jemh-typecheck"}  # the empty folder alone
    assert "WARNING" not in result.stderr
    assert _tree(ROOT / "var") == before


def test_the_type_checkers_settings_refuse_to_serve_an_application() -> None:
    with pytest.raises(ImportError, match="only for mypy"):
        import jemh.settings_typecheck  # noqa: F401
