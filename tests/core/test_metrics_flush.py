"""A flush adds every series this process counted to the shared rows in one statement, creating the missing ones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jemh import metrics
from jemh.models import MetricCounter

pytestmark = pytest.mark.django_db


def _values() -> dict[tuple[str, str], float]:
    return {(row.name, row.labels): row.value for row in MetricCounter.objects.all()}


def test_flushes_add_up_and_create_missing_series_in_one_statement() -> None:
    metrics.flush()  # whatever earlier code counted in this process
    MetricCounter.objects.all().delete()
    MetricCounter.objects.create(name="jemh_test_seen", labels="kind=a", value=5)
    metrics.count("jemh_test_seen", 2, kind="a")
    metrics.count("jemh_test_seen", 1, kind="b")
    metrics.observe("jemh_test_latency", 3.0)
    with CaptureQueriesContext(connection) as queries:
        metrics.flush()
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    values = _values()
    assert values[("jemh_test_seen", "kind=a")] == 7
    assert values[("jemh_test_seen", "kind=b")] == 1
    assert values[("jemh_test_latency_bucket", "le=5")] == 1 and ("jemh_test_latency_bucket", "le=1") not in values
    assert values[("jemh_test_latency_sum", "")] == 3.0
    metrics.count("jemh_test_seen", 0.5, kind="b")
    metrics.flush()
    assert _values()[("jemh_test_seen", "kind=b")] == 1.5
    assert metrics.pending() == {}


def test_a_flush_larger_than_one_statement_is_all_written(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics.flush()
    MetricCounter.objects.all().delete()
    monkeypatch.setattr(metrics, "_UPSERT_CHUNK", 4)
    for n in range(10):
        metrics.count("jemh_test_many", n + 1, n=n)
    metrics.flush()
    values = _values()
    assert len(values) == 10
    assert sum(values.values()) == sum(range(1, 11))
