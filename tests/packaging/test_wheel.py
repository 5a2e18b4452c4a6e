"""The built wheel works on its own: installed into a fresh virtual environment outside the checkout, from the
locked dependencies (requirements/runtime.txt) and an offline wheelhouse, it renders a notification and the admin
sign-in page, serves the admin's static files under gunicorn, and carries no development dependency.

Regression (issue 18): the wheel once shipped no templates (they lived in a top-level folder outside every package),
so an installed copy raised TemplateDoesNotExist for ``notifications/body.html`` and the admin overrides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.services.base import free_port, port_open, wait_until

CHECKOUT = Path(__file__).resolve().parents[2]
UV = str(Path(sys.executable).with_name("uv"))


def _run(*command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """The runtime wheels (docker/wheelhouse.sh; kept in docker/wheelhouse/, which the image build uses too)."""
    path = Path(os.environ.get("JEMH_WHEELHOUSE", CHECKOUT / "docker" / "wheelhouse"))
    _run("bash", str(CHECKOUT / "docker" / "wheelhouse.sh"), str(path), env={**os.environ, "PYTHON": sys.executable})
    return path


@pytest.fixture(scope="module")
def wheel(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline (source archive first, then the wheel from it, as a release would)."""
    dist = tmp_path_factory.mktemp("dist")
    offline = ("--offline", "--no-index", "--find-links", str(wheelhouse))
    _run(UV, "build", *offline, "--out-dir", str(dist), str(CHECKOUT))
    [built] = dist.glob("jemh_mailhandler-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh virtual environment outside the checkout with the wheel and the locked runtime dependencies only."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    _run(UV, "venv", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    offline = ("--offline", "--no-index", "--find-links", str(wheelhouse), "--python", str(python))
    _run(UV, "pip", "install", *offline, "-r", str(wheelhouse / "requirements.txt"))  # the lock's pins
    _run(UV, "pip", "install", *offline, "--no-deps", str(wheel))
    var = root / "var"
    var.mkdir()
    return {"python": python, "venv": venv, "var": var, "cwd": root}


def _env(installed: dict[str, Path], **extra: str) -> dict[str, str]:
    """The installed copy's environment: no trace of the checkout or of the suite's settings."""
    keep = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")}
    for name in list(keep):
        if name.startswith(("JEMH_", "CELERY_", "DATABASE_", "REDIS_", "EMAIL_", "STATIC_")):
            del keep[name]
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "jemh.settings",
        "JEMH_VAR_DIR": str(installed["var"]),
        "PATH": f"{installed['venv'] / 'bin'}:{keep.get('PATH', '')}",
        **extra,
    }


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.core.management import call_command
    from django.template.loader import get_template
    from django.test import Client
    import jemh

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    body = get_template("notifications/body.html")
    html = body.render({
        "issue": {"key": "ABC-1", "summary": "Printer on fire", "url": "https://jira.example/browse/ABC-1"},
        "headline": "Carol commented", "can_reply": True, "events": [],
    })
    overrides = [get_template(name).origin.name for name in (
        "admin/profiles/profile/change_list.html", "admin/inbound/inboundmessage/pagination.html",
        "notifications/body.txt", "notifications/subject.txt", "support/login.html",
    )]
    client = Client(HTTP_HOST="localhost")
    login = client.get("/admin/login/")
    print(json.dumps({
        "package": jemh.__file__, "sys_path": sys.path, "body_origin": body.origin.name, "html": html,
        "overrides": overrides, "login_status": login.status_code, "login": login.content.decode(),
    }))
    """
)


def test_the_installed_wheel_renders_templates_and_the_admin_login(installed: dict[str, Path]) -> None:
    done = _run(str(installed["python"]), "-c", SCRIPT, cwd=installed["cwd"], env=_env(installed))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    site = str(installed["venv"])
    assert result["package"].startswith(site), result["package"]
    assert not any(entry.startswith(str(CHECKOUT)) for entry in result["sys_path"])
    assert result["body_origin"].startswith(site)
    assert "Reply above this line to add a comment to ABC-1" in result["html"]
    assert 'href="https://jira.example/browse/ABC-1"' in result["html"]
    assert all(origin.startswith(site) for origin in result["overrides"]), result["overrides"]
    assert result["login_status"] == 200
    assert "JEMH mail handler" in result["login"] and 'name="password"' in result["login"]
    assert "jemh-password-hint" in result["login"]  # the site-wide override (jemh/templates/admin/login.html)
    # the manifest storage's hashed name (collectstatic ran from the installed copy)
    assert "/static/admin/css/base." in result["login"] and "/static/admin/css/base.css" not in result["login"]


def test_gunicorn_serves_the_admin_and_its_static_files(installed: dict[str, Path]) -> None:
    """Regression (issue 18): under a real WSGI server the admin's CSS answered 404 (nothing served static files)."""
    _run(str(installed["python"]), "-m", "django", "collectstatic", "--noinput", "-v0", env=_env(installed))
    port = free_port()
    log = installed["cwd"] / "gunicorn.log"
    env = _env(installed, JEMH_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(installed["venv"] / "bin" / "gunicorn"), "--config", "python:jemh.gunicorn_conf", "jemh.wsgi"],
            cwd=installed["cwd"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: port_open(port), 60, "gunicorn", log)
        base = f"http://127.0.0.1:{port}"
        login = urllib.request.urlopen(f"{base}/admin/login/", timeout=10).read().decode()
        css = login.split('href="/static/admin/css/base.', 1)[1].split('"', 1)[0]
        response = urllib.request.urlopen(f"{base}/static/admin/css/base.{css}", timeout=10)
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
        assert "immutable" in response.headers["Cache-Control"]  # hashed names are cached for good
        assert b"--body-fg" in response.read()  # the admin's real stylesheet
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Listening at: http://127.0.0.1" in log.read_text()
    assert not (installed["cwd"] / "gunicorn.ctl").exists()  # the control socket is off


def test_the_wheel_carries_templates_and_no_development_dependency(wheel: Path, installed: dict[str, Path]) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for template in (
        "notifications/templates/notifications/body.html",
        "notifications/templates/notifications/body.txt",
        "auditing/templates/support/login.html",
        "profiles/templates/admin/profiles/profile/change_list.html",
        "jemh/templates/admin/login.html",
    ):
        assert template in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines() if line.startswith("Requires-Dist")
    ]
    runtime = [line for line in requires if "extra ==" not in line]
    assert not any(name in line for line in runtime for name in ("honcho", "pytest", "ruff", "mypy"))
    assert any("gunicorn" in line for line in runtime) and any("whitenoise" in line for line in runtime)
    frozen = _run(UV, "pip", "freeze", "--python", str(installed["python"])).stdout.splitlines()
    installed_names = {line.split("==")[0].split(" @ ")[0].strip().lower() for line in frozen}
    assert {"gunicorn", "whitenoise", "django", "jemh-mailhandler"} <= installed_names
    assert not installed_names & {"honcho", "pytest", "ruff", "mypy", "uv", "playwright"}
