"""Test-suite wiring: real servers on loopback, started once per session and only when asked for.

The database is PostgreSQL by default (a throwaway cluster started here); run with JEMH_TEST_DB=sqlite
to use SQLite instead. A server that cannot start fails the tests that need it: nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.base import ServiceUnavailable

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright + live_server in one process

SHARED = Path(os.environ.get("JEMH_SHARED_DIR", Path(__file__).resolve().parent.parent.parent / "shared"))
TEST_DB = os.environ.get("JEMH_TEST_DB", "postgres").lower()
if TEST_DB not in {"postgres", "sqlite"}:
    raise pytest.UsageError(f"JEMH_TEST_DB={TEST_DB!r}: expected 'postgres' or 'sqlite'")


def _service(start, *args):
    try:
        return start(*args)
    except ServiceUnavailable as exc:
        pytest.fail(f"a real server the tests need could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def services_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="jemh-test-"))
    root.chmod(0o755)  # servers run as their own users (postgres, nobody, swift) and must traverse it
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(services_root: Path):
    from tests.services.postgres import start_postgres

    server = _service(start_postgres, services_root / "postgres")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest) -> None:
    """Point Django at the throwaway PostgreSQL cluster (default) before the test database is made."""
    if TEST_DB != "postgres":
        return
    import environ
    from django.conf import settings
    from django.db import connections

    from jemh.config import database

    server = request.getfixturevalue("postgres")
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = server.url
    try:  # the settings production reads from DATABASE_URL (options and all), on the throwaway cluster
        config = database(environ.Env(), Path("unused.sqlite3"))
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = saved
    config.update({"CONN_MAX_AGE": 0, "TEST": {"NAME": "jemh_test"}})
    settings.DATABASES["default"] = config
    from asgiref.local import Local

    connections.close_all()
    connections.__dict__.pop("settings", None)  # a cached_property: recomputed from _settings
    connections._settings = None  # type: ignore[attr-defined]  # private: reset for the test
    connections._connections = Local(connections.thread_critical)  # type: ignore[attr-defined]  # private


@pytest.fixture(scope="session")
def redis_server(services_root: Path):
    from tests.services.redis import start_redis

    server = _service(start_redis, services_root / "redis")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot(services_root: Path):
    from tests.services.dovecot import start_dovecot

    server = _service(start_dovecot, services_root / "dovecot")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oidc_provider():
    """A fake OpenID provider on loopback (consent, tokens, refresh, userinfo, revocation)."""
    from tests.services.oidc import start_oidc_provider

    provider = _service(start_oidc_provider)
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def dovecot_oauth(services_root: Path, oidc_provider):
    """Dovecot taking XOAUTH2/OAUTHBEARER logins, each token checked at the fake OpenID provider."""
    from tests.services.dovecot import start_dovecot
    from tests.services.oidc import introspection_config

    server = _service(start_dovecot, services_root / "dovecot-oauth", introspection_config(oidc_provider))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot_jwt(services_root: Path):
    """Dovecot taking XOAUTH2/OAUTHBEARER logins with HS256 JWTs it validates itself (tests.services.oidc.make_jwt)."""
    from tests.services.dovecot import start_dovecot
    from tests.services.oidc import jwt_config, write_jwt_key

    root = services_root / "dovecot-jwt"
    write_jwt_key(root)
    server = _service(start_dovecot, root, jwt_config(str(root)))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def swift(services_root: Path):
    from tests.services.swift import start_swift

    server = _service(start_swift, services_root / "swift")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink():
    from tests.services.smtp import start_smtp

    sink = start_smtp()
    yield sink
    sink.stop()


@pytest.fixture()
def smtp(smtp_sink):
    """The SMTP sink, emptied for this test."""
    smtp_sink.clear()
    smtp_sink.refuse = False
    yield smtp_sink
    smtp_sink.refuse = False


@pytest.fixture()
def smtp_mail(settings, smtp):
    """Django's SMTP backend pointed at the aiosmtpd sink (pytest-django forces locmem otherwise)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "Acme Support <noreply@example.com>"
    return smtp


@pytest.fixture(scope="session")
def chromium():
    from tests.services.chromium import start_chromium

    browser, playwright = _service(start_chromium)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture()
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _jira_slot_connection() -> Iterator[None]:
    """The Jira call slots' own PostgreSQL connection is closed after each test (or the test database could not
    be dropped)."""
    yield
    from trackers.jira.concurrency import close_connection

    close_connection()


@pytest.fixture()
def microsoft(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch):
    """A fake Microsoft identity provider and Graph on loopback (tests/inbound/fake_graph.py), with a mailbox
    ``fake_graph.MAILBOX``; msal trusts the provider's certificate and Graph's root points at the fake."""
    from jemh.msgraph.tokens import forget_tokens
    from tests.inbound.fake_graph import CLIENT_ID, CLIENT_SECRET, MAILBOX, fake_microsoft

    forget_tokens()
    with fake_microsoft(tmp_path, CLIENT_ID, CLIENT_SECRET) as (identity, graph):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", identity.ca_file)
        settings.JEMH_GRAPH_URL = graph.url
        settings.JEMH_GRAPH_MAX_WAIT = 5
        graph.add_mailbox(MAILBOX, "Support")
        yield identity, graph
    forget_tokens()


@pytest.fixture(autouse=True)
def blob_root(settings, tmp_path: Path) -> Path:
    """Every test's blobs go through the real encrypting storage onto a folder of its own (never var/)."""
    root = tmp_path / "blobs"
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "jemh.storage.EncryptedStorage",
            "OPTIONS": {
                "backend": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(root)},
                }
            },
        },
    }
    return root


@pytest.fixture()
def shared_dir() -> Path:
    """../shared (reference corpora); tests that need it are skipped, with the reason, when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"optional reference material {SHARED} is absent (set JEMH_SHARED_DIR)")
    return SHARED
