"""Counters and histograms that add up across processes (web, workers, the MTA pipe), for ``/metrics``.

Each process counts in memory (``count``, ``observe``: no database write on the hot path) and adds what it counted
to ``MetricCounter`` rows (one upsert statement for all its series) after each Celery task, each web request and at exit
(``flush``). ``/metrics`` then reads the sums from the database, so whichever process answers the scrape reports
every process's counts, and counts survive restarts. A process that dies between two flushes loses the counts of
its last task at most.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence

from django.core.signals import request_finished
from django.db import DatabaseError, connection, transaction

log = logging.getLogger(__name__)

#: processing latency (capture to outcome), seconds
LATENCY_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 900, 3600)

_lock = threading.Lock()
_pending: dict[tuple[str, str], float] = {}
_UPSERT_CHUNK = 300  # series per statement (SQLite allows 999 parameters in older builds)


def label_text(labels: dict[str, object]) -> str:
    """Labels as stored: ``name=value`` pairs, sorted by name, comma-separated (values without ``,`` or ``=``)."""
    return ",".join(f"{k}={str(v).replace(',', ' ').replace('=', ' ')}" for k, v in sorted(labels.items()))


def parse_labels(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def count(name: str, amount: float = 1, **labels: object) -> None:
    """Add ``amount`` to the counter ``name`` (without ``_total``) with ``labels``, in this process until flushed."""
    key = (name, label_text(labels))
    with _lock:
        _pending[key] = _pending.get(key, 0.0) + amount


def observe(name: str, value: float, buckets: Sequence[float] = LATENCY_BUCKETS, **labels: object) -> None:
    """Record one observation of the histogram ``name``: its ``_bucket`` series (cumulative, ``le`` label),
    ``_sum`` and ``_count``."""
    for bound in [*buckets, float("inf")]:
        if value <= bound:
            count(f"{name}_bucket", 1, **labels, le="+Inf" if bound == float("inf") else f"{bound:g}")
    count(f"{name}_sum", value, **labels)
    count(f"{name}_count", 1, **labels)


def pending() -> dict[tuple[str, str], float]:
    with _lock:
        return dict(_pending)


def flush(*, report: bool = True) -> None:
    """Add this process's counts to the database; kept for the next flush if the database is away (said in a
    WARNING unless ``report`` is false). Call it outside any transaction that might roll back (after a task or
    request)."""
    with _lock:
        taken = dict(_pending)
        _pending.clear()
    if not taken:
        return
    try:
        _add(taken.items())
    except DatabaseError as exc:
        if report:
            log.warning("metrics not written (%s): kept for the next try", type(exc).__name__)
        with _lock:
            for key, amount in taken.items():
                _pending[key] = _pending.get(key, 0.0) + amount


def _add(items: Iterable[tuple[tuple[str, str], float]]) -> None:
    """One statement for every series (``INSERT … ON CONFLICT DO UPDATE``, PostgreSQL and SQLite alike): one
    round trip and one commit per flush, however many series a task touched. Rows in sorted order, so that
    concurrent flushes lock them in the same order; more than one statement's worth in one transaction, so that a
    failed flush keeps exactly what it took."""
    rows = sorted(items)
    chunks = [rows[i : i + _UPSERT_CHUNK] for i in range(0, len(rows), _UPSERT_CHUNK)]
    with transaction.atomic() if len(chunks) > 1 else contextlib.nullcontext(), connection.cursor() as cursor:
        for chunk in chunks:
            cursor.execute(_upsert_sql(len(chunk)), [part for (name, labels), n in chunk for part in (name, labels, n)])


def _upsert_sql(rows: int) -> str:
    from jemh.models import MetricCounter

    qn = connection.ops.quote_name
    table, name, labels, value = qn(MetricCounter._meta.db_table), qn("name"), qn("labels"), qn("value")
    marks = ", ".join(["(%s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} ({name}, {labels}, {value}) VALUES {marks} ON CONFLICT ({name}, {labels}) "
        f"DO UPDATE SET {value} = {table}.{value} + EXCLUDED.{value}"
    )


def flush_quietly(**kwargs: object) -> None:
    try:
        flush()
    except Exception as exc:  # never let metrics break a request, a task or an exit
        log.warning("flushing metrics failed: %s", type(exc).__name__)


def flush_at_exit() -> None:
    """The last counts of an exiting process, if its database is still there. Nothing is logged: at exit the log's
    streams may be closed already (a test runner's capture), and there is no next try to keep counts for."""
    with contextlib.suppress(Exception):
        flush(report=False)


request_finished.connect(flush_quietly, dispatch_uid="jemh.metrics.request_finished")
atexit.register(flush_at_exit)
