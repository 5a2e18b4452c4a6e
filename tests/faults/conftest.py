"""Fixtures of the fault tests: a PostgreSQL cluster of their own (stopped and started by the tests), set up
like the suite's server and with WAL written as lazily as PostgreSQL allows, and the inbound fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _service
from tests.inbound.conftest import (  # noqa: F401 - fixtures shared with the inbound tests
    Worker,
    mailbox,
    mailbox_pool,
    new_database,
    start_worker,
)
from tests.services.postgres import Postgres, start_postgres

# With synchronous_commit=off (the suite's setting) a commit returns before its WAL is written; these make the
# WAL writer wait 10 s (its maximum) before writing it, so a crash soon after such a commit loses it.
LAZY_WAL = {
    "wal_writer_delay": "10000ms",
    "wal_writer_flush_after": "1GB",
    "bgwriter_lru_maxpages": "0",
    "checkpoint_timeout": "1h",
    "max_wal_size": "4GB",
}


@pytest.fixture(scope="module")
def lazy_postgres(services_root: Path) -> Iterator[Postgres]:
    root = services_root / f"postgres-faults-{uuid.uuid4().hex[:6]}"
    server = _service(lambda: start_postgres(root, settings=LAZY_WAL))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lazy_worker(lazy_postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Worker:
    """Subprocesses (pollers, ``jemh deliver``) on a migrated database of the lazy cluster."""
    return start_worker(new_database(lazy_postgres.url, "jemh_faults"), tmp_path_factory.mktemp("faults-worker"))
