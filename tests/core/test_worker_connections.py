"""Celery workers reuse their database connection across tasks, but never a broken or expired one."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from jemh.celery import app, close_old_connections


@pytest.fixture(autouse=True)
def server_database() -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "the SQLite test database lives in memory inside its connection: these tests close connections "
            "to a database server"
        )


def task(*, eager: bool) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


@pytest.mark.django_db
def test_the_worker_keeps_its_connection_across_tasks() -> None:
    assert app.conf.get("CELERY_DB_REUSE_MAX"), "Celery's Django fix-up would close the connection before every task"


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_dropped_before_the_next_task() -> None:
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # as CONN_MAX_AGE = 60 sets it
    close_old_connections(sender=task(eager=False))
    assert connection.connection is not None  # young and healthy: kept
    connection.close_at = time.monotonic() - 1
    close_old_connections(sender=task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_is_dropped_before_the_next_task() -> None:
    connection.ensure_connection()
    connection.errors_occurred = True
    connection.health_check_enabled = True  # type: ignore[attr-defined]  # set by Django 5.1+, not in django-stubs
    connection.connection.close()  # the server went away
    close_old_connections(sender=task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_transaction_alone() -> None:
    with transaction.atomic():
        connection.close_at = time.monotonic() - 1
        close_old_connections(sender=task(eager=True))
        assert connection.connection is not None and connection.in_atomic_block
