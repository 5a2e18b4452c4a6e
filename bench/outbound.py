"""Outbound notifications benchmark: issue events → batched, rendered, threaded mail on a real SMTP server.

2,000 events (comments and field changes) across 200 local-tracker issues on a throwaway PostgreSQL, recorded
through ``notifications.intake.record_event`` by a separate producer process (as the web or mail-processing
processes would) while two Celery worker processes (Redis broker) flush batches and send over SMTP to a local
aiosmtpd server (a thread of this process, which otherwise only polls). Reported: notifications (mails) per second
from the first event's arrival to the last mail's acceptance, events per second, p50/p95 time from an event's
arrival to its last mail being accepted, worker memory, CPU seconds per process — beside the raw SMTP floor:
smtplib sending the very same rendered messages over one connection to the same sink, measured in the same run.

    .venv/bin/python bench/outbound.py [--events 2000] [--issues 200] [--window 0] [--workers 2]

Writes bench/results/outbound.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.services.redis import Redis
    from tests.services.smtp import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, peak_rss_mb, percentile, postgres_pids, total_cpu_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--window", type=int, default=0, help="batch window in seconds (default 0: no waiting)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--produce", metavar="KEYS_FILE", help=argparse.SUPPRESS)  # the producer process
    args = parser.parse_args()
    if args.produce:
        return produce(Path(args.produce), args.events)

    from tests.services.postgres import start_postgres
    from tests.services.redis import start_redis
    from tests.services.smtp import start_smtp

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-outbound-"))
    work.chmod(0o755)
    print(f"starting PostgreSQL, Redis and aiosmtpd under {work} ...", flush=True)
    postgres = start_postgres(work / "postgres")
    redis = start_redis(work / "redis")
    sink = start_smtp()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "JEMH_VAR_DIR": str(work / "var"),
            "EMAIL_URL": f"smtp://{sink.host}:{sink.port}",
            "DEFAULT_FROM_EMAIL": "Acme Support <noreply@example.com>",
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "LOG_LEVEL": "WARNING",
            "JEMH_NOTIFICATION_BATCH_WINDOW": str(args.window),
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        issue_keys = setup_data(args.issues)

        for n in range(args.workers):
            log = open(work / f"worker{n}.log", "wb")  # noqa: SIM115 - lives as long as the worker
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "jemh",
                        "worker",
                        "-P",
                        "solo",
                        "-c",
                        "1",
                        "-n",
                        f"w{n}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "-l",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_for_workers(args.workers)

        keys_file = work / "issue_keys.json"
        keys_file.write_text(json.dumps(issue_keys))
        processes: dict[str, Callable[[], list[int]]] = {
            "postgres": lambda: postgres_pids(work / "postgres" / "data"),
            "redis": lambda: redis_pids(redis),
            **{f"worker{n}": functools.partial(lambda p: [p.pid], proc) for n, proc in enumerate(workers)},
        }
        cpu_before = {name: total_cpu_seconds(pids()) for name, pids in processes.items()}
        self_before = cpu_seconds("self")
        print(f"recording {args.events} events across {len(issue_keys)} issues (producer process) ...", flush=True)
        producer = subprocess.Popen(
            [sys.executable, __file__, "--produce", str(keys_file), "--events", str(args.events)], cwd=ROOT, env=env
        )
        result = run(producer, args.timeout)
        cpu = {name: round(total_cpu_seconds(pids()) - cpu_before[name], 1) for name, pids in processes.items()}
        cpu["producer"] = result.pop("producer_cpu_s")
        cpu["bench (sink + polling)"] = round(cpu_seconds("self") - self_before, 1)
        peaks = [peak_rss_mb(p.pid) for p in workers]
        floor = smtp_floor(sink)
        result.update(
            {
                "workers": args.workers,
                "window_s": args.window,
                "worker_peak_rss_mb": peaks,
                "cpu_s_during_run": cpu,
                "cpus": os.cpu_count(),
                "floor_messages_per_s": round(floor, 1),
                "share_of_floor": round(result["notifications_per_s"] / floor, 3) if floor else None,
                "after_producer_share_of_floor": round(result["after_producer_notifications_per_s"] / floor, 3)
                if floor
                else None,
                "database": "postgresql",
                "broker": "redis",
                "smtp": "aiosmtpd (a thread of the benchmark process)",
                "producer": "separate process",
            }
        )
        print_table(result)
        out = ROOT / "bench" / "results" / "outbound.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {out.relative_to(ROOT)}")
        return 0
    except BaseException:
        for n in range(len(workers)):  # what the workers said is gone with the folder: show its end
            tail = (work / f"worker{n}.log").read_text(errors="replace").splitlines()[-30:]
            print(f"--- worker{n}.log (end) ---", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def setup_data(issues: int) -> list[str]:
    from django.contrib.auth import get_user_model

    from jemh.models import Instance
    from notifications.models import NotificationMapping
    from profiles.models import Profile
    from trackers.interface import NewIssue
    from trackers.models import Project
    from trackers.registry import get_tracker

    # no hourly limits: this measures how fast mail goes out (tests/notifications/test_limits.py covers the limits)
    instance = Instance.objects.create(name="Bench", max_mail_per_issue_per_hour=None, max_mail_per_hour=None)
    users = get_user_model()
    agent = users.objects.create_user("agent", "agent@example.org", first_name="Agent")
    users.objects.create_user("lead", "lead@example.org", first_name="Lead")
    Project.objects.create(instance=instance, key="BEN", name="Bench", lead=users.objects.get(username="lead"))
    Profile.objects.create(instance=instance, name="Support", reply_address="support@example.com")
    tracker = get_tracker(instance)
    keys = []
    print(f"creating {issues} issues ...", flush=True)
    for n in range(issues):  # created before the mapping exists: their own events are dropped at once
        issue = tracker.create_issue(
            NewIssue(
                project_key="BEN",
                summary=f"Benchmark issue {n}: the printer is on fire again",
                description="Steps:\n\n1. print\n2. **smoke**",
                assignee="agent",
                email_sender_address=f"customer{n}@customer.example",
                email_sender_name=f"Customer {n}",
                email_participants=(f"colleague{n}@customer.example",),
            )
        )
        keys.append(issue.key)
    NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=None)
    assert agent.pk
    return keys


def wait_for_workers(count: int) -> None:
    from jemh.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= count:
            return
    raise SystemExit("the Celery workers did not start (see their logs)")


def produce(keys_file: Path, events: int) -> int:
    """The producer process: record the events as fast as the intake allows (``record_event`` per event)."""
    import django

    django.setup()
    from jemh.models import Instance
    from notifications.intake import record_event

    issue_keys = json.loads(keys_file.read_text())
    instance = Instance.objects.get(name="Bench")
    start = time.monotonic()
    for n in range(events):
        key = issue_keys[n % len(issue_keys)]
        if n % 2:
            record_event(
                instance_id=instance.pk,
                kind="commented",
                issue_key=key,
                actor={"account_id": "agent", "email": "agent@example.org", "name": "Agent"},
                payload={"comment": {"body": f"Update {n}: we are *on it*.", "author_name": "Agent"}},
            )
        else:
            record_event(
                instance_id=instance.pk,
                kind="updated",
                issue_key=key,
                actor=None,
                payload={"changes": [{"field": "priority", "old": "Medium", "new": "High"}]},
            )
        if n and n % 500 == 0:
            print(f"  {n} events recorded", flush=True)
    print(f"  all {events} recorded in {time.monotonic() - start:.1f}s", flush=True)
    return 0


def run(producer: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    from django.db.models import Count, Max
    from django.utils import timezone

    from notifications.choices import EventStatus, OutboundStatus
    from notifications.models import IssueEvent, OutboundMessage

    start = time.monotonic()
    deadline = start + timeout
    _, status, usage = os.wait4(producer.pid, 0)  # the producer's own CPU time comes with its exit
    producer.returncode = os.waitstatus_to_exitcode(status)
    if producer.returncode:
        raise SystemExit(f"the producer failed (exit {producer.returncode})")
    recorded = time.monotonic() - start
    producer_done = timezone.now()
    print(f"  producer done after {recorded:.1f}s; waiting for the workers ...", flush=True)
    while time.monotonic() < deadline:
        open_events = IssueEvent.objects.filter(status__in=[EventStatus.PENDING, EventStatus.PROCESSING]).count()
        unsent = OutboundMessage.objects.exclude(status__in=[OutboundStatus.SENT, OutboundStatus.FAILED]).count()
        if not open_events and not unsent:
            break
        time.sleep(0.2)
    else:
        stuck = dict(IssueEvent.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        mails = dict(OutboundMessage.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        raise SystemExit(f"the workers did not finish in time (events {stuck}, mails {mails})")
    events = IssueEvent.objects.exclude(status=EventStatus.DROPPED).count()  # not the issues' own creation
    first = IssueEvent.objects.filter(status=EventStatus.NOTIFIED).order_by("received_at").first()
    last_sent = OutboundMessage.objects.aggregate(last=Max("sent_at"))["last"]
    elapsed = (last_sent - first.received_at).total_seconds()
    latencies = []
    for event in (
        IssueEvent.objects.filter(status=EventStatus.NOTIFIED)
        .annotate(sent=Max("outbound_messages__sent_at"))
        .only("received_at")
    ):
        latencies.append((event.sent - event.received_at).total_seconds())
    sent = OutboundMessage.objects.filter(status=OutboundStatus.SENT).count()
    failed = OutboundMessage.objects.filter(status=OutboundStatus.FAILED).count()
    # the backlog left when the producer finished, drained by the workers alone (nothing else recording)
    drained = OutboundMessage.objects.filter(status=OutboundStatus.SENT, sent_at__gt=producer_done).count()
    drain_s = max((last_sent - producer_done).total_seconds(), 0.001)
    return {
        "events": events,
        "issues": IssueEvent.objects.exclude(status=EventStatus.DROPPED).values("issue_key").distinct().count(),
        "notifications_sent": sent,
        "notifications_failed": failed,
        "events_notified": len(latencies),
        "elapsed_s": round(elapsed, 2),
        "recording_s": round(recorded, 2),
        "notifications_per_s": round(sent / elapsed, 1),
        "events_per_s": round(events / elapsed, 1),
        "event_to_sent_p50_s": round(statistics.median(latencies), 3),
        "event_to_sent_p95_s": round(percentile(latencies, 95), 3),
        "producer_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "after_producer_sent": drained,
        "after_producer_s": round(drain_s, 2),
        "after_producer_notifications_per_s": round(drained / drain_s, 1),
    }


def smtp_floor(sink: SmtpSink) -> float:
    """smtplib sending the same rendered messages (as stored) over one connection: the SMTP floor."""
    from jemh.storage import blob_storage
    from notifications.models import OutboundMessage

    storage = blob_storage()
    messages = [
        (row.recipients, re.sub(rb"\r?\n", b"\r\n", storage.read_bytes(row.blob_name)))
        for row in OutboundMessage.objects.exclude(blob_name="").only("recipients", "blob_name")
    ]
    start = time.monotonic()
    with smtplib.SMTP(sink.host, sink.port) as client:
        for recipients, raw in messages:
            try:
                client.sendmail("noreply@example.com", recipients, raw)
            except smtplib.SMTPDataError:
                longest = max(raw.splitlines(), key=len)
                raise SystemExit(f"the sink refused a stored message; longest line {len(longest)}") from None
    return len(messages) / (time.monotonic() - start)


def redis_pids(redis: Redis) -> list[int]:
    return [proc.pid for proc in redis.processes.items]


def print_table(result: dict[str, Any]) -> None:
    rows = [
        ("events / issues", f"{result['events']} / {result['issues']}"),
        ("notifications sent (failed)", f"{result['notifications_sent']} ({result['notifications_failed']})"),
        ("elapsed (first event → last mail)", f"{result['elapsed_s']} s"),
        ("notifications / s", result["notifications_per_s"]),
        ("events / s", result["events_per_s"]),
        (
            "notifications / s once recording ended",
            f"{result['after_producer_notifications_per_s']} "
            f"({result['after_producer_sent']} in {result['after_producer_s']} s)",
        ),
        ("event → sent p50 / p95", f"{result['event_to_sent_p50_s']} s / {result['event_to_sent_p95_s']} s"),
        ("raw smtplib floor (msgs / s)", result["floor_messages_per_s"]),
        ("share of floor", result["share_of_floor"]),
        ("worker peak RSS (MB)", result["worker_peak_rss_mb"]),
        (
            f"CPU s during the run ({result['cpus']} CPUs)",
            ", ".join(f"{name} {value}" for name, value in result["cpu_s_during_run"].items()),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    raise SystemExit(main())
