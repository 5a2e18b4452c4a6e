"""``/metrics`` in Prometheus' text format, computed from the database at scrape time.

Counters and the latency histogram are the sums every process added to ``MetricCounter`` (jemh.metrics); gauges
(backlog, outbound mail by state, failing sources, heartbeats) are counted when scraped. So one scrape of any web
process reports the whole installation, however many web and worker processes there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from auditing.status import snapshot
from jemh.metrics import parse_labels
from jemh.models import MetricCounter

COUNTERS = {
    "jemh_inbound_captured": ("Inbound messages captured (stored with an audit row).", []),
    "jemh_inbound_processed": ("Outcomes recorded for inbound messages, by outcome.", ["outcome"]),
    "jemh_source_poll_failures": ("Failed polls of a mail source, by source name.", ["source"]),
    "jemh_outbound_sent": ("Outbound mails the SMTP server accepted, by kind.", ["kind"]),
    "jemh_outbound_failed": ("Outbound mails given up on, by kind.", ["kind"]),
    "jemh_outbound_retries": (
        "Outbound mails put back to retry, by kind and reason (refused, unreachable).",
        ["kind", "reason"],
    ),
    "jemh_jira_requests": ("Requests sent to Jira, by status class (2xx, 4xx, 429, 5xx, error).", ["status"]),
    "jemh_jira_rate_limited": ("Jira answers 429 (rate limited).", []),
}
HISTOGRAMS = {
    "jemh_inbound_processing_latency_seconds": (
        "Seconds from capture to the final outcome of an inbound message (retried failures not counted)."
    ),
}


class DatabaseCollector(Collector):
    """Every metric, read from the database."""

    def collect(self) -> Iterator[Metric]:
        rows: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for name, text, value in MetricCounter.objects.values_list("name", "labels", "value"):
            rows[name].append((parse_labels(text), value))
        for name, (documentation, label_names) in COUNTERS.items():
            family = CounterMetricFamily(name, documentation, labels=label_names)
            series = rows.get(name, [])
            if not series and not label_names:
                family.add_metric([], 0.0)
            for labels, value in series:
                family.add_metric([labels.get(label, "") for label in label_names], value)
            yield family
        for name, documentation in HISTOGRAMS.items():
            histogram = HistogramMetricFamily(name, documentation)
            buckets = sorted(
                ((labels["le"], value) for labels, value in rows.get(f"{name}_bucket", [])),
                key=lambda bucket: float(bucket[0]),
            )
            total = sum(value for _, value in rows.get(f"{name}_sum", []))
            if not buckets or buckets[-1][0] != "+Inf":
                count = sum(value for _, value in rows.get(f"{name}_count", []))
                buckets.append(("+Inf", count))
            histogram.add_metric([], buckets=buckets, sum_value=total)
            yield histogram
        yield from self.gauges()

    def gauges(self) -> Iterator[Metric]:
        now = timezone.now()
        backlog = snapshot.backlog_now(now)
        yield GaugeMetricFamily(
            "jemh_inbound_backlog", "Inbound messages captured without a final outcome.", value=backlog["count"]
        )
        yield GaugeMetricFamily(
            "jemh_inbound_backlog_oldest_age_seconds",
            "Age of the oldest inbound message without a final outcome (0 when there is none).",
            value=backlog["oldest_age_seconds"] or 0.0,
        )
        outbound = GaugeMetricFamily(
            "jemh_outbound_messages", "Outbound mails not sent yet, by state.", labels=["state"]
        )
        for state, n in snapshot.outbound_states().items():
            outbound.add_metric([state], n)
        yield outbound
        failing = GaugeMetricFamily(
            "jemh_source_consecutive_failures",
            "Failed polls in a row of each mail source.",
            labels=["instance", "source"],
        )
        for source in snapshot.sources():
            failing.add_metric([source.instance, source.name], source.consecutive_failures)
        yield failing
        beats = GaugeMetricFamily(
            "jemh_heartbeat_age_seconds", "Seconds since a process of the role last beat (-1: never).", labels=["role"]
        )
        for beat in snapshot.heartbeats(now):
            age = (now - beat.last_beat_at).total_seconds() if beat.last_beat_at else -1.0
            beats.add_metric([beat.role], age)
        yield beats


def registry() -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(DatabaseCollector())
    return found
