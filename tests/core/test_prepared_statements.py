"""JEMH_DB_PREPARED_STATEMENTS: PostgreSQL binds the parameters and keeps a statement run often prepared."""

from __future__ import annotations

from pathlib import Path

import environ
import pytest
from django.db import connection

from jemh.config import database
from trackers.models import Issue

URL = "postgres://jemh:secret@db.internal:5432/jemh"


def config_for(monkeypatch: pytest.MonkeyPatch, url: str, prepared: str | None = None) -> dict:
    monkeypatch.setenv("DATABASE_URL", url)
    if prepared is None:
        monkeypatch.delenv("JEMH_DB_PREPARED_STATEMENTS", raising=False)
    else:
        monkeypatch.setenv("JEMH_DB_PREPARED_STATEMENTS", prepared)
    return database(environ.Env(), Path("unused.sqlite3"))


def test_on_by_default_for_postgresql_and_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_for(monkeypatch, URL)["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert "OPTIONS" not in config_for(monkeypatch, URL, "false")  # e.g. behind PgBouncer in transaction mode
    assert "OPTIONS" not in config_for(monkeypatch, "sqlite:////tmp/x.sqlite3")


@pytest.mark.django_db
def test_a_statement_run_often_is_prepared_on_the_connection() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        before = cursor.fetchone()[0]
    for number in range(8):
        list(Issue.objects.filter(key=f"ABC-{number}"))  # one shape, another value each time
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) > before and any('"trackers_issue"."key" = $1' in s for s in prepared), prepared
