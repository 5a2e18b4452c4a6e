"""Inbound benchmark: mail captured from Dovecot and processed into the local tracker by two worker processes.

    .venv/bin/python bench/inbound.py [--messages 2000] [--hostile] [--timeout 900]

Starts its own PostgreSQL, Dovecot and Redis (tests/services starters), loads N varied real messages from
../shared/corpora (each given a unique Message-ID; bench/retrieval.py's loader) into one mailbox, then:

* floor: bench/retrieval.py's single-process floor (imapclient fetch + stdlib parse, nothing stored), in a
  fresh process, measured in this run;
* end to end: ``celery -A jemh worker --concurrency 2`` (prefork: two worker processes, Redis broker) runs
  while another process polls the source (``inbound.retrieval.poll``); each captured message is queued on
  commit and processed (``inbound.process_message``) under a profile into the local tracker on PostgreSQL.

Reported: messages/second end to end (poll start until the last message has an outcome) beside the floor
(target: at least 60% of it), p50/p95 from capture (``created_at``) to outcome (``processed_at``), each
worker process's peak RSS (VmHWM; target: none above 150 MB), the outcome counts, messages left without an
outcome, error reasons, and messages that produced more than one issue (must be none).
Writes bench/results/inbound.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on sys.path, where this file would shadow the ``inbound`` app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, peak_rss_mb, percentile, postgres_pids, total_cpu_seconds  # noqa: E402
from bench.retrieval import PASSWORD, USER, child, corpus_messages, hostile_messages, load_mailbox, with_message_id  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "inbound.json"
TARGET_RATIO, TARGET_RSS_MB = 0.60, 150
FINAL = ("processed", "error")


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


# -- child mode: the capturing process ------------------------------------------------------------------------


def capture_child(source_id: int) -> dict[str, Any]:
    """Poll the source once (the capture); each message is queued for processing as its capture commits."""
    import django

    django.setup()
    from inbound.retrieval import poll

    started = time.time()
    result = poll(source_id, force=True)
    ended = time.time()
    if result.status != "ok":
        raise SystemExit(f"capture failed: {result.detail}")
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    rss = next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:"))
    return {
        "started": started,
        "seconds": round(ended - started, 3),
        "peak_rss_mb": round(rss, 1),
        "cpu_seconds": cpu_seconds(os.getpid()),
        "rejected_too_large": result.rejected_too_large,
        "duplicates": result.duplicates,
    }


# -- the parent: data, worker, waiting, results ---------------------------------------------------------------


def setup_data(host: str, port: int) -> int:
    """An instance with two projects, a profile (default mapping SUP, a billing mapping by subject) and the
    IMAP source using it. Returns the source id."""
    from django.contrib.auth import get_user_model

    from inbound.models import Security, Source, SourceKind
    from jemh.models import Instance
    from profiles.models import MappingRule, Profile, ProjectMapping
    from trackers.models import Project

    instance = Instance.objects.create(name="Bench")
    users = get_user_model()
    lead = users.objects.create_user("lead", "lead@support.example.com")
    users.objects.create_user("helpdesk", "helpdesk@support.example.com")
    Project.objects.create(instance=instance, key="SUP", name="Support", lead=lead)
    Project.objects.create(instance=instance, key="BIL", name="Billing", lead=lead)
    profile = Profile.objects.create(instance=instance, name="Support", reply_address="support@support.example.com")
    ProjectMapping.objects.create(
        profile=profile,
        name="Default",
        is_default=True,
        project_key="SUP",
        issue_type="Task",
        priority="Medium",
        default_summary="(no subject)",
        reporter_strategy="sender",
        default_reporter="helpdesk",
        assignee_strategy="project_lead",
        operating_mode="create_and_comment",
        unknown_sender_action="email_only",
        addressee_handling="participants",
        subject_cleanups="",
        body_cleanups="",
        body_delimiters="",
    )
    billing = ProjectMapping.objects.create(profile=profile, name="Billing", is_default=False, project_key="BIL")
    MappingRule.objects.create(mapping=billing, kind="subject", pattern=r"invoice|payment|billing|refund")
    source = Source.objects.create(
        instance=instance,
        name="bench",
        kind=SourceKind.IMAP,
        host=host,
        port=port,
        security=Security.NONE,
        username=USER,
        password=PASSWORD,
        batch_limit=100000,
        profile=profile,
    )
    return source.pk


def start_worker(env: dict[str, str], log: Path, loglevel: str = "WARNING") -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the worker
    celery = str(Path(sys.executable).with_name("celery"))
    return subprocess.Popen(
        [
            celery,
            "-A",
            "jemh",
            "worker",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "-n",
            "bench@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            loglevel,
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_worker(worker: subprocess.Popen[bytes], log: Path) -> None:
    from jemh.celery import app

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited:\n{log.read_text(errors='replace')[-4000:]}")
        if app.control.ping(timeout=1.0) and len(children_of(worker.pid)) >= 2:
            return
    raise SystemExit(f"the Celery worker did not start:\n{log.read_text(errors='replace')[-4000:]}")


def wait_for_outcomes(capture: subprocess.Popen[str], timeout: float) -> tuple[int, int]:
    """Until the capture has ended and every captured message has a final outcome. Returns (captured, done)."""
    from inbound.models import InboundMessage

    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        captured = InboundMessage.objects.count()
        done = InboundMessage.objects.filter(status__in=FINAL).count()
        capturing = capture.poll() is None
        if time.monotonic() - last_print > 2:
            print(
                f"  captured {captured}, with an outcome {done}{' (capture running)' if capturing else ''}",
                end="\r",
                flush=True,
            )
            last_print = time.monotonic()
        if not capturing and done == captured:
            print()
            return captured, done
        time.sleep(0.25)
    print()
    return InboundMessage.objects.count(), InboundMessage.objects.filter(status__in=FINAL).count()


def results(poll_started: float) -> dict[str, Any]:
    from django.db.models import Count, Max

    from inbound.models import InboundMessage
    from trackers.models import Comment, Issue

    messages = InboundMessage.objects.all()
    outcomes = Counter(dict(messages.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")))
    statuses = Counter(dict(messages.values_list("status").annotate(n=Count("id")).values_list("status", "n")))
    latencies = [
        (done - created).total_seconds()
        for created, done in messages.filter(processed_at__isnull=False).values_list("created_at", "processed_at")
    ]
    last = messages.aggregate(last=Max("processed_at"))["last"]
    elapsed = last.timestamp() - poll_started if last else float("nan")
    problems: Counter[str] = Counter()
    for row in messages.filter(outcome__in=["error", "failed"]).only("report"):
        report = row.report if isinstance(row.report, dict) else {}
        problems[str(report.get("error") or report.get("reason") or "(no reason)")[:200]] += 1
    doubled_issues = (
        Issue.objects.filter(source_message_id__isnull=False)
        .values("source_message_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    doubled_comments = (
        Comment.objects.filter(source_message_id__isnull=False)
        .values("source_message_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    captured = messages.count()
    return {
        "captured": captured,
        "elapsed_s": round(elapsed, 2),
        "messages_per_second": round(captured / elapsed, 1) if elapsed else 0.0,
        "capture_to_outcome_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "capture_to_outcome_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "outcomes": dict(outcomes),
        "statuses": dict(statuses),
        "without_outcome": captured - sum(statuses.get(s, 0) for s in FINAL),
        "issues": Issue.objects.count(),
        "comments": Comment.objects.count(),
        "messages_with_more_than_one_issue": doubled_issues,
        "messages_with_more_than_one_comment": doubled_comments,
        "error_reasons": dict(problems.most_common(10)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--hostile", action="store_true", help="add bench/retrieval.py's pathological messages")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for every outcome")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database) and print it")
    parser.add_argument("--worker-loglevel", default="WARNING", help="INFO logs each task's run time")
    parser.add_argument("--capture-child", type=int, metavar="SOURCE_ID", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.capture_child:
        print(json.dumps(capture_child(options.capture_child)))
        return 0

    import psycopg

    from tests.services.dovecot import start_dovecot
    from tests.services.postgres import start_postgres
    from tests.services.redis import start_redis

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-inbound-"))
    work.chmod(0o755)
    postgres = dovecot = redis = worker = None
    try:
        print(f"starting PostgreSQL, Dovecot and Redis under {work} ...", flush=True)
        postgres = start_postgres(work / "postgres")
        dovecot = start_dovecot(work / "dovecot")
        redis = start_redis(work / "redis")
        dovecot.add_user(USER, PASSWORD)
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE jemh_bench")
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/jemh_bench",
            "REDIS_URL": redis.url,
            "JEMH_VAR_DIR": str(work / "var"),
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "LOG_LEVEL": "WARNING",
        }
        for key in [k for k in env if k.startswith(("JEMH_S3_", "CELERY_BROKER_URL"))]:
            env.pop(key)
        env.pop("JEMH_PROCESS_INLINE", None)
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        corpus = corpus_messages()
        messages = [with_message_id(corpus[i % len(corpus)], i) for i in range(options.messages)]
        hostile = hostile_messages() if options.hostile else []
        print(
            f"loading {len(messages)} messages ({len(corpus)} distinct corpus files) + {len(hostile)} "
            "pathological ones ...",
            flush=True,
        )
        load_mailbox(dovecot, messages + [with_message_id(m, -i - 1) for i, m in enumerate(hostile)])
        del messages, corpus, hostile
        host, port = dovecot.host, dovecot.imap_port
        print("floor: fetch + stdlib parse, one process (bench/retrieval.py) ...", flush=True)
        floor_run = child("floor", env, host, port)
        print("light floor: fetch + compat32 headers only (for comparison) ...", flush=True)
        light_run = child("floor-headers", env, host, port)
        source_id = setup_data(host, port)
        from django.db import connection

        connection.close()  # the parent only watches from now on
        print("starting the Celery worker (prefork, concurrency 2) ...", flush=True)
        worker_log = work / "worker.log"
        worker = start_worker(env, worker_log, options.worker_loglevel)
        wait_for_worker(worker, worker_log)
        pool = children_of(worker.pid)
        cpu_before = {pid: cpu_seconds(pid) for pid in pool}
        postgres_before = total_cpu_seconds(postgres_pids(work / "postgres" / "data"))
        load_before = os.getloadavg()
        print("end to end: poll in its own process, the worker processing as messages are captured ...", flush=True)
        capture = subprocess.Popen(
            [sys.executable, __file__, "--capture-child", str(source_id)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        captured, done = wait_for_outcomes(capture, options.timeout)
        out, err = capture.communicate(timeout=60)
        if capture.returncode:
            raise SystemExit(f"the capture failed:\n{err[-4000:]}")
        capture_run = json.loads(out.strip().splitlines()[-1])
        pool = sorted(set(pool) | set(children_of(worker.pid)))
        worker_rss: dict[str, Any] = {"main": peak_rss_mb(worker.pid), "pool": [peak_rss_mb(pid) for pid in pool]}
        worker_cpu = round(sum(cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in pool), 2)
        load_after = os.getloadavg()
        postgres_cpu = round(total_cpu_seconds(postgres_pids(work / "postgres" / "data")) - postgres_before, 2)
        result = results(float(capture_run["started"]))
        if done < captured:
            print(
                f"WARNING: {captured - done} message(s) still without a final outcome after {options.timeout}s; "
                f"see {worker_log}",
                flush=True,
            )
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        for service in (redis, dovecot, postgres):
            if service is not None:
                service.stop()
        if options.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    floor_rate = floor_run["messages"] / floor_run["seconds"]
    ratio = result["messages_per_second"] / floor_rate
    worst_rss = max(worker_rss["pool"] or [0.0])
    report = {
        "floor": {**floor_run, "messages_per_second": round(floor_rate, 1)},
        "light_floor": {**light_run, "messages_per_second": round(light_run["messages"] / light_run["seconds"], 1)},
        "ratio_to_light_floor": round(
            result["messages_per_second"] * light_run["seconds"] / light_run["messages"],
            3,
        ),
        "end_to_end": result,
        "capture": capture_run,
        "worker_peak_rss_mb": worker_rss,
        "worker_cpu_seconds": worker_cpu,
        "worker_cpu_ms_per_message": round(1000 * worker_cpu / max(1, result["captured"]), 2),
        "postgres_cpu_seconds": postgres_cpu,
        "postgres_cpu_ms_per_message": round(1000 * postgres_cpu / max(1, result["captured"]), 2),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_peak_rss_mb": TARGET_RSS_MB,
        "meets_ratio": ratio >= TARGET_RATIO,
        "meets_memory": worst_rss <= TARGET_RSS_MB,
        "nothing_lost": result["without_outcome"] == 0,
        "nothing_doubled": result["messages_with_more_than_one_issue"] == 0,
        "setup": {
            "workers": "celery prefork --concurrency 2",
            "broker": "redis",
            "database": "postgresql",
            "tracker": "local",
            "cpus": os.cpu_count(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def print_table(report: dict[str, Any]) -> None:
    floor, e2e, rss = report["floor"], report["end_to_end"], report["worker_peak_rss_mb"]
    assert isinstance(floor, dict) and isinstance(e2e, dict) and isinstance(rss, dict)
    rows = [
        (
            "floor (fetch + stdlib parse, 1 process)",
            f"{floor['messages_per_second']} msg/s ({floor['messages']} in {floor['seconds']:.2f} s)",
        ),
        (
            "end to end (poll start → last outcome)",
            f"{e2e['messages_per_second']} msg/s ({e2e['captured']} in {e2e['elapsed_s']} s)",
        ),
        ("end to end / floor", f"{report['ratio']:.0%} (target >= {TARGET_RATIO:.0%})"),
        (
            "light floor (fetch + compat32 headers)",
            f"{report['light_floor']['messages_per_second']} msg/s; "
            f"end to end / light floor {report['ratio_to_light_floor']:.0%}",
        ),
        ("capture → outcome p50 / p95", f"{e2e['capture_to_outcome_p50_s']} s / {e2e['capture_to_outcome_p95_s']} s"),
        (
            "capture alone (poll)",
            f"{report['capture']['seconds']} s, CPU "
            f"{report['capture']['cpu_seconds']} s, peak RSS "
            f"{report['capture']['peak_rss_mb']} MB",
        ),
        ("worker CPU per message (both processes)", f"{report['worker_cpu_ms_per_message']} ms"),
        ("PostgreSQL CPU per message (all backends)", f"{report['postgres_cpu_ms_per_message']} ms"),
        ("load average (1 min) before / after", report["load_average_before_after"]),
        ("worker peak RSS MB (pool; main)", f"{rss['pool']}; {rss['main']} (target <= {TARGET_RSS_MB})"),
        ("outcomes", ", ".join(f"{k or '(none)'} {v}" for k, v in sorted(e2e["outcomes"].items()))),
        ("without a final outcome", e2e["without_outcome"]),
        ("issues / comments", f"{e2e['issues']} / {e2e['comments']}"),
        (
            "messages with > 1 issue / comment",
            f"{e2e['messages_with_more_than_one_issue']} / {e2e['messages_with_more_than_one_comment']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for reason, count in (e2e["error_reasons"] or {}).items():
        print(f"  error/failed x{count}: {reason}")


if __name__ == "__main__":
    raise SystemExit(main())
