"""The installation's status (issue 18): ``/metrics`` scraped and parsed as Prometheus text, its counters adding up
across processes; ``/status.json`` behind its token; the admin index's dashboard in Chromium, its numbers those of
the database, each part shown only to staff allowed to view its model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from auditing.models import PurgeRun
from inbound import health
from inbound.heartbeat import beat
from inbound.models import HeartbeatRole, InboundMessage, InboundStatus, Source
from jemh import metrics
from jemh.models import MetricCounter
from notifications.choices import OutboundStatus
from notifications.models import OutboundMessage
from tests.pipeline.conftest import mail

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "scrape-token-0123456789"


def scrape() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``/metrics`` parsed: sample name → {sorted labels: value}."""
    response = Client().get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.fixture()
def metrics_on(db: None, settings: Any) -> None:
    settings.JEMH_METRICS_ENABLED = True
    settings.JEMH_METRICS_TOKEN = ""
    metrics.flush()
    MetricCounter.objects.all().delete()


def outbound(instance: Any, status: str, n: int = 1) -> None:
    for i in range(n):
        OutboundMessage.objects.create(
            instance=instance,
            recipients=["carol@customer.example"],
            recipient_hash="x",
            subject="Re: status",
            message_id=f"<status-{status}-{i}@support.example.com>",
            status=status,
            expires_at=timezone.now() + timedelta(days=30),
        )


def test_metrics_are_off_unless_enabled(db: None, settings: Any) -> None:
    settings.JEMH_METRICS_ENABLED = False
    assert Client().get("/metrics").status_code == 404


def test_metrics_want_their_token_or_a_loopback_client(db: None, settings: Any) -> None:
    settings.JEMH_METRICS_ENABLED = True
    settings.JEMH_METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.JEMH_METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.10").get("/metrics").status_code == 403


def test_metrics_count_what_the_database_holds(
    metrics_on: None, instance: Any, pipe: Source, deliver: Callable[..., InboundMessage]
) -> None:
    created = [deliver(mail(subject=f"Printer {i} on fire")) for i in range(3)]
    assert {m.outcome for m in created} == {"created"}
    waiting = InboundMessage.objects.create(
        instance=instance, source=pipe, received_at=timezone.now() - timedelta(minutes=7), status=InboundStatus.RECEIVED
    )
    outbound(instance, OutboundStatus.RETRYING, 2)
    outbound(instance, OutboundStatus.FAILED)
    health.record_failure(pipe, "connection refused")
    samples = scrape()
    assert samples["jemh_inbound_captured_total"][()] == 3
    assert samples["jemh_inbound_processed_total"][(("outcome", "created"),)] == 3
    assert samples["jemh_inbound_processing_latency_seconds_count"][()] == 3
    assert samples["jemh_inbound_processing_latency_seconds_bucket"][(("le", "+Inf"),)] == 3
    assert samples["jemh_inbound_processing_latency_seconds_sum"][()] >= 0
    assert samples["jemh_inbound_backlog"][()] == 1
    age = samples["jemh_inbound_backlog_oldest_age_seconds"][()]
    assert 7 * 60 <= age < 8 * 60, (age, waiting.received_at)
    assert samples["jemh_outbound_messages"][(("state", "retrying"),)] == 2
    assert samples["jemh_outbound_messages"][(("state", "failed"),)] == 1
    assert samples["jemh_outbound_messages"][(("state", "queued"),)] == 0
    assert samples["jemh_source_poll_failures_total"][(("source", "pipe-in"),)] == 1
    assert samples["jemh_source_consecutive_failures"][(("instance", instance.name), ("source", "pipe-in"))] == 1
    assert samples["jemh_jira_rate_limited_total"][()] == 0  # declared before the first Jira call


def test_counts_of_other_processes_add_up(metrics_on: None, settings: Any) -> None:
    """Two processes count: a scrape of a third (this one) sees both (the counts live in the database)."""
    settings.JEMH_METRICS_ENABLED = True
    metrics.count("jemh_jira_rate_limited", 2)
    metrics.flush()
    metrics.count("jemh_jira_rate_limited", 1)  # this process's own, not flushed yet: the scrape flushes it
    assert scrape()["jemh_jira_rate_limited_total"][()] == 3


@pytest.mark.django_db(transaction=True)
def test_counts_from_a_separate_process_reach_the_scrape(metrics_on: None, tmp_path: Path) -> None:
    """A real second process (``manage.py shell``) counts and exits: its counts are flushed at exit."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a second process shares the test database only on PostgreSQL")
    settings_db = connection.settings_dict
    url = f"postgres://{settings_db['USER']}@{settings_db['HOST']}:{settings_db['PORT']}/{settings_db['NAME']}"
    env = {"PATH": "/usr/bin:/bin", "JEMH_VAR_DIR": str(tmp_path), "DATABASE_URL": url}
    code = "from jemh import metrics; metrics.count('jemh_outbound_sent', 4, kind='notification')"
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert scrape()["jemh_outbound_sent_total"][(("kind", "notification"),)] == 4


def test_jira_requests_and_429s_are_counted(metrics_on: None) -> None:
    from tests.trackers.jira_fake import FakeJira
    from tests.trackers.test_jira_contract import jira_instance
    from trackers.jira import client_for

    fake = FakeJira("cloud").start()
    try:
        client = client_for(jira_instance(fake))
        fake.inject("*", status=429, retry_after=0)
        client.get("myself")  # refused once (429, retried at once), then answered
    finally:
        fake.stop()
    samples = scrape()
    assert samples["jemh_jira_requests_total"][(("status", "429"),)] == 1
    assert samples["jemh_jira_requests_total"][(("status", "2xx"),)] >= 1
    assert samples["jemh_jira_rate_limited_total"][()] == 1


def test_the_status_json_wants_its_token(db: None, settings: Any, instance: Any, pipe: Source) -> None:
    settings.JEMH_STATUS_TOKEN = ""
    assert Client().get("/status.json").status_code == 404
    settings.JEMH_STATUS_TOKEN = TOKEN
    assert Client().get("/status.json").status_code == 401
    assert Client().get("/status.json", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    outbound(instance, OutboundStatus.QUEUED, 2)
    health.record_failure(pipe, "login failed for bob@customer.example")
    data = Client().get("/status.json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()
    assert data["outbound"]["queued"] == 2
    assert data["backlog"]["count"] == 0
    source = next(s for s in data["sources"] if s["name"] == "pipe-in")
    assert source["consecutive_failures"] == 1
    assert "bob@customer.example" not in source["last_error"]  # the server's answer, with the address hashed
    assert [k for k in data["key_warnings"] if "JEMH_ENCRYPTION_KEYS" in k]  # the suite runs on generated keys
    assert set(data["outcomes"]) == {"24h", "7d"} and len(data["outcomes"]["24h"]["counts"]) == 24


def staff(codenames: list[str]) -> Any:
    user = get_user_model().objects.create_user("partial", "partial@example.org", "pw-Partial-42", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_the_dashboard_shows_each_part_to_those_allowed_to_view_it(db: None, instance: Any, pipe: Source) -> None:
    client = Client()
    client.force_login(staff(["view_outboundmessage"]))
    page = client.get("/admin/").content.decode()
    assert 'data-metric="outbound-failed"' in page
    assert 'data-part="sources"' not in page and 'data-metric="backlog"' not in page
    assert 'data-part="key-warning"' not in page and 'data-part="outcomes"' not in page
    nobody = Client()
    nobody.force_login(get_user_model().objects.create_user("plain", "plain@example.org", is_staff=True))
    assert 'id="jemh-status"' not in nobody.get("/admin/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_in_chromium_matches_the_database(
    live_server: Any, page: Any, instance: Any, pipe: Source, deliver: Callable[..., InboundMessage]
) -> None:
    for i in range(2):
        deliver(mail(subject=f"Dashboard {i}"))
    InboundMessage.objects.create(
        instance=instance, source=pipe, received_at=timezone.now() - timedelta(hours=2), status=InboundStatus.RECEIVED
    )
    outbound(instance, OutboundStatus.RETRYING, 3)
    outbound(instance, OutboundStatus.FAILED, 1)
    health.record_failure(pipe, "connection refused by the server")
    every = IntervalSchedule.objects.create(every=1, period="hours")
    ran = timezone.now() - timedelta(minutes=30)
    PeriodicTask.objects.create(name="status test task", task="jemh.tasks.nothing", interval=every, last_run_at=ran)
    PurgeRun.objects.create(instance=instance, started_at=ran, finished_at=ran, counts={"raw_mail": 5})
    beat(HeartbeatRole.WORKER)
    get_user_model().objects.create_superuser("root", "root@example.test", "s3cret-Pass-42")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "s3cret-Pass-42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    status = page.locator("#jemh-status")
    assert status.is_visible()
    unfinished = InboundMessage.objects.filter(
        status__in=[InboundStatus.RECEIVED, InboundStatus.PROCESSING, InboundStatus.FAILED]
    ).count()
    assert status.locator('[data-metric="backlog"]').inner_text() == str(unfinished) == "1"
    assert "2\xa0hours" in status.locator('[data-metric="backlog-oldest"]').inner_text()
    for state in ("retrying", "failed", "queued"):
        expected = OutboundMessage.objects.filter(status=state).count()
        assert status.locator(f'[data-metric="outbound-{state}"]').inner_text() == str(expected)
    created = InboundMessage.objects.filter(outcome="created").count()
    assert created == 2
    for period in ("24h", "7d"):
        chart = status.locator(f'[data-chart="{period}"]')
        assert chart.locator("svg").is_visible()
        assert chart.locator('[data-total="created"]').inner_text() == f"created {created}"
        bars = chart.locator('rect[data-outcome="created"]')
        assert sum(int(bars.nth(i).get_attribute("data-count")) for i in range(bars.count())) == created
        assert chart.locator("svg").bounding_box()["height"] > 50
    row = status.locator('[data-source="pipe-in"]')
    assert "connection refused by the server" in row.inner_text() and "1 in a row" in row.inner_text()
    assert "last run" in status.locator('[data-task="status test task"]').inner_text()
    assert "raw_mail 5" in status.locator(f'[data-purge="{instance.name}"]').inner_text()
    assert "alive" in status.locator('[data-role="worker"]').inner_text()
    assert "never seen" in status.locator('[data-role="beat"]').inner_text()
    assert status.locator('[data-part="key-warning"]').count() == 2
