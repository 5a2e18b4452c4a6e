"""Inbound benchmark: mail captured from Dovecot and processed into the local tracker by two worker processes.

    .venv/bin/python bench/inbound.py [--messages 2000] [--seed 11] [--poll-size 500] [--timeout 900]
    .venv/bin/python bench/inbound.py --mailbox legacy [--hostile]      # the earlier corpus variant

Starts its own PostgreSQL, Dovecot and Redis (tests/services starters) and fills one mailbox with either

* ``--mailbox realistic`` (the default): a generated support mailbox (bench/mailbox.py, deterministic from
  ``--seed``): 45% new requests, 45% replies to them quoting their history (Outlook, Gmail, Apple Mail...),
  10% automated mail, HTML from real clients, 15% with attachments, a few non-English; on PostgreSQL at its
  default durability (fsync and synchronous_commit on), polled ``--poll-size`` messages at a time, so some
  replies are captured in the same poll as their request and others later;
* ``--mailbox legacy``: N varied real messages from ../shared/corpora (each given a unique Message-ID; most of
  them are filtered or dropped, no reply is a comment), on PostgreSQL with fsync off, in one poll: the variant
  earlier numbers were measured on.

``--durability default|off`` overrides the PostgreSQL setting of either. Then:

* floor: bench/retrieval.py's single-process floor (imapclient fetch in batches + stdlib parse, nothing stored),
  in a fresh process, measured in this run;
* end to end: ``celery -A jemh worker --pool prefork --concurrency 2`` (two pool processes, Redis broker) runs
  while another process polls the source (``inbound.retrieval.poll``) until the mailbox is drained; each
  captured message is queued on commit and processed (``inbound.process_messages``) under a profile into the
  local tracker on PostgreSQL.

Reported: messages/second end to end (poll start until the last message has an outcome) beside the floor
(target: at least 60% of it), p50/p95 from capture (``created_at``) to outcome (``processed_at``), each pool
process's peak RSS (VmHWM; target: none above 150 MB), the outcome counts, messages left without an outcome,
doubles (a message that made more than one issue or comment, or both), and for the realistic mailbox, checked
against the generator's ground truth: thread splits (a reply that became a new issue instead of a comment on its
request's issue), misthreaded replies and unexpected outcomes. CPU (and wall) time per message by stage, from
jemh/stages.py (on here through JEMH_STAGE_TIMES; off in production): capture, parse, pipeline (the steps, without
tracker writes), tracker writes, and what the stages leave out. Writes bench/results/inbound.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on sys.path, where this file would shadow the ``inbound`` app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.inbound_checks import WORKER_STAGES, against_truth, per_message, results, stage_times  # noqa: E402
from bench.mailbox import BENCH_MTA  # noqa: E402
from bench.measure import cpu_seconds, peak_rss_mb, postgres_pids, total_cpu_seconds  # noqa: E402
from bench.retrieval import PASSWORD, USER, child, corpus_messages, hostile_messages, load_mailbox, with_message_id  # noqa: E402

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from tests.services.dovecot import Dovecot

RESULTS = ROOT / "bench" / "results" / "inbound.json"
TARGET_RATIO, TARGET_RSS_MB = 0.60, 150
FINAL = ("processed", "error")
LOAD_BATCH = 100


def settle() -> None:
    """Before a measured phase: the data written so far (the loaded mailbox, the database) on disk, so its write-back
    does not take CPU from the phase measured."""
    os.sync()
    time.sleep(1)


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
    """Poll the source until it is drained (each poll takes at most the source's batch limit); each message is
    queued for processing as its capture commits."""
    import django

    django.setup()
    from inbound.retrieval import poll
    from jemh import stages

    started = time.time()
    polls, rejected, duplicates = 0, 0, 0
    while True:
        result = poll(source_id, force=True)
        polls += 1
        if result.status != "ok":
            raise SystemExit(f"capture failed: {result.detail}")
        rejected += result.rejected_too_large
        duplicates += result.duplicates
        if not result.more_pending:
            break
    ended = time.time()
    stages.dump()
    return {
        "pid": os.getpid(),
        "started": started,
        "seconds": round(ended - started, 3),
        "polls": polls,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_seconds": cpu_seconds(os.getpid()),
        "rejected_too_large": rejected,
        "duplicates": duplicates,
    }


# -- the parent: data, worker, waiting, results ---------------------------------------------------------------


def setup_data(host: str, port: int, batch_limit: int = 100000) -> int:
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
        batch_limit=batch_limit,
        profile=profile,
        trusted_authserv_ids=BENCH_MTA,
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
    """Until the capture has ended and every captured message has a final outcome. Returns (captured, done).

    One light query every half second: the watching takes CPU from what it watches on this small machine, and the
    time measured does not depend on it (it ends at the last ``processed_at``)."""
    from django.db.models import Count, Q

    from inbound.models import InboundMessage

    def counts() -> tuple[int, int]:
        found = InboundMessage.objects.aggregate(captured=Count("pk"), done=Count("pk", filter=Q(status__in=FINAL)))
        return int(found["captured"]), int(found["done"])

    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        captured, done = counts()
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
        time.sleep(0.5)
    print()
    return counts()


def fill_mailbox(dovecot: Dovecot, options: argparse.Namespace) -> list[dict[str, Any]]:
    """Load the chosen mailbox; returns the realistic mailbox's ground truth (empty for the legacy one)."""
    if options.mailbox == "legacy":
        corpus = corpus_messages()
        messages = [with_message_id(corpus[i % len(corpus)], i) for i in range(options.messages)]
        hostile = hostile_messages() if options.hostile else []
        print(
            f"loading {len(messages)} messages ({len(corpus)} distinct corpus files) + {len(hostile)} "
            "pathological ones ...",
            flush=True,
        )
        load_mailbox(dovecot, messages + [with_message_id(m, -i - 1) for i, m in enumerate(hostile)])
        return []
    from bench.mailbox import generate

    print(f"generating and loading a realistic mailbox of {options.messages} messages (seed {options.seed}) ...")
    truth: list[dict[str, Any]] = []
    batch: list[bytes] = []
    size = 0
    client = _imap_client(dovecot)
    with client:
        for mail in generate(options.messages, options.seed):
            truth.append(mail.truth())
            batch.append(mail.raw)
            size += len(mail.raw)
            if len(batch) == LOAD_BATCH:
                client.multiappend("INBOX", batch)
                batch = []
                print(f"  loaded {len(truth)}/{options.messages} ({size / 1e6:.0f} MB)", end="\r", flush=True)
        if batch:
            client.multiappend("INBOX", batch)
    print(f"  loaded {len(truth)}/{options.messages} ({size / 1e6:.0f} MB)")
    return truth


def _imap_client(dovecot: Dovecot) -> IMAPClient:
    from imapclient import IMAPClient

    deadline = time.monotonic() + 30
    while True:
        try:
            client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=120)
            client.login(USER, PASSWORD)
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def postgres_durability(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {
            name: str((conn.execute(f"SHOW {name}").fetchone() or ("?",))[0])
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--mailbox", choices=("realistic", "legacy"), default="realistic")
    parser.add_argument("--seed", type=int, default=11, help="the realistic mailbox's random seed")
    parser.add_argument(
        "--poll-size", type=int, default=500, help="realistic mailbox: messages per poll (the source's batch limit)"
    )
    parser.add_argument(
        "--durability",
        choices=("default", "off"),
        help="PostgreSQL: its default durability, or fsync/synchronous_commit off (default: default for the "
        "realistic mailbox, off for the legacy one)",
    )
    parser.add_argument(
        "--hostile", action="store_true", help="legacy mailbox: add bench/retrieval.py's pathological messages"
    )
    parser.add_argument("--no-stage-times", action="store_true", help="leave jemh/stages.py's timing off")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for every outcome")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database) and print it")
    parser.add_argument("--worker-loglevel", default="WARNING", help="INFO logs each task's run time")
    parser.add_argument("--capture-child", type=int, metavar="SOURCE_ID", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.capture_child:
        print(json.dumps(capture_child(options.capture_child)))
        return 0
    durability = options.durability or ("default" if options.mailbox == "realistic" else "off")
    poll_size = options.poll_size if options.mailbox == "realistic" else 100000
    run_started = time.monotonic()

    import psycopg

    from tests.services.dovecot import start_dovecot
    from tests.services.postgres import start_postgres
    from tests.services.redis import start_redis

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-inbound-"))
    work.chmod(0o755)
    stages_folder = work / "stages"
    postgres = dovecot = redis = worker = None
    try:
        print(f"starting PostgreSQL ({durability} durability), Dovecot and Redis under {work} ...", flush=True)
        postgres = start_postgres(work / "postgres", durable=durability == "default")
        dovecot = start_dovecot(work / "dovecot")
        redis = start_redis(work / "redis")
        dovecot.add_user(USER, PASSWORD)
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE jemh_bench")
        postgres_settings = postgres_durability(postgres.url)
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/jemh_bench",
            "REDIS_URL": redis.url,
            "JEMH_VAR_DIR": str(work / "var"),
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "LOG_LEVEL": "WARNING",
        }
        for key in [k for k in env if k.startswith(("JEMH_S3_", "CELERY_BROKER_URL", "JEMH_STAGE_TIMES"))]:
            env.pop(key)
        env.pop("JEMH_PROCESS_INLINE", None)
        os.environ.update(env)
        if not options.no_stage_times:  # the worker and the capture process only (the parent stays untimed)
            env["JEMH_STAGE_TIMES"] = str(stages_folder)
        import django

        django.setup()
        from django.core.management import call_command

        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        truth = fill_mailbox(dovecot, options)
        host, port = dovecot.host, dovecot.imap_port
        print("floor: fetch + stdlib parse, one process (bench/retrieval.py) ...", flush=True)
        settle()
        floor_run = child("floor", env, host, port)
        print("light floor: fetch + compat32 headers only (for comparison) ...", flush=True)
        settle()
        light_run = child("floor-headers", env, host, port)
        source_id = setup_data(host, port, batch_limit=poll_size)
        from django.db import connection

        connection.close()  # the parent only watches from now on
        print("starting the Celery worker (prefork, concurrency 2) ...", flush=True)
        worker_log = work / "worker.log"
        worker = start_worker(env, worker_log, options.worker_loglevel)
        wait_for_worker(worker, worker_log)
        pool = children_of(worker.pid)
        settle()
        cpu_before = {pid: cpu_seconds(pid) for pid in pool}
        postgres_before = total_cpu_seconds(postgres_pids(work / "postgres" / "data"))
        load_before = os.getloadavg()
        print("end to end: polls in their own process, the worker processing as messages are captured ...", flush=True)
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
        checked = against_truth(truth, poll_size) if truth else None
        stages = stage_times(stages_folder, pool, int(capture_run["pid"]))
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
    captured_n = max(1, int(result["captured"]))
    report = {
        "mailbox": options.mailbox,
        "messages": options.messages,
        "seed": options.seed if options.mailbox == "realistic" else None,
        "poll_size": poll_size,
        "floor": {**floor_run, "messages_per_second": round(floor_rate, 1)},
        "light_floor": {**light_run, "messages_per_second": round(light_run["messages"] / light_run["seconds"], 1)},
        "ratio_to_light_floor": round(
            result["messages_per_second"] * light_run["seconds"] / light_run["messages"],
            3,
        ),
        "end_to_end": result,
        "ground_truth": checked,
        "capture": capture_run,
        "worker_peak_rss_mb": worker_rss,
        "worker_cpu_seconds": worker_cpu,
        "worker_cpu_ms_per_message": round(1000 * worker_cpu / captured_n, 2),
        "postgres_cpu_seconds": postgres_cpu,
        "postgres_cpu_ms_per_message": round(1000 * postgres_cpu / captured_n, 2),
        "stages": stages,
        "stage_ms_per_message": per_message(stages, captured_n, worker_cpu, float(capture_run["cpu_seconds"]))
        if stages
        else {},
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_peak_rss_mb": TARGET_RSS_MB,
        "meets_ratio": ratio >= TARGET_RATIO,
        "meets_memory": worst_rss <= TARGET_RSS_MB,
        "nothing_lost": result["without_outcome"] == 0,
        "nothing_doubled": result["doubles"] == 0,
        "no_thread_splits": checked["thread_splits"] == 0 if checked else None,
        "run_seconds": round(time.monotonic() - run_started, 1),
        "setup": {
            "workers": "one celery worker, --pool prefork --concurrency 2 (two pool processes)",
            "broker": "redis",
            "database": "postgresql",
            "postgres_settings": postgres_settings,
            "tracker": "local",
            "stage_times": not options.no_stage_times,
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
    floor, e2e, rss, truth = report["floor"], report["end_to_end"], report["worker_peak_rss_mb"], report["ground_truth"]
    settings = report["setup"]["postgres_settings"]
    capture = report["capture"]
    rows: list[tuple[str, object]] = [
        (
            "mailbox",
            f"{report['mailbox']}, {report['messages']} messages"
            + (f", seed {report['seed']}, polls of {report['poll_size']}" if report["mailbox"] == "realistic" else ""),
        ),
        ("PostgreSQL", ", ".join(f"{k}={v}" for k, v in settings.items())),
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
            "capture alone (polls)",
            f"{capture['seconds']} s in {capture['polls']} poll(s), CPU {capture['cpu_seconds']} s, "
            f"peak RSS {capture['peak_rss_mb']} MB",
        ),
        ("worker CPU per message (both processes)", f"{report['worker_cpu_ms_per_message']} ms"),
        ("PostgreSQL CPU per message (all backends)", f"{report['postgres_cpu_ms_per_message']} ms"),
        ("load average (1 min) before / after", report["load_average_before_after"]),
        ("worker peak RSS MB (pool; main)", f"{rss['pool']}; {rss['main']} (target <= {TARGET_RSS_MB})"),
        ("outcomes", ", ".join(f"{k or '(none)'} {v}" for k, v in sorted(e2e["outcomes"].items()))),
        ("without a final outcome", e2e["without_outcome"]),
        ("issues / comments", f"{e2e['issues']} / {e2e['comments']}"),
        (
            "doubles (> 1 issue / > 1 comment / both)",
            f"{e2e['doubles']} ({e2e['messages_with_more_than_one_issue']} / "
            f"{e2e['messages_with_more_than_one_comment']} / {e2e['messages_with_an_issue_and_a_comment']})",
        ),
    ]
    if truth:
        rows += [
            (
                "thread splits (reply → new issue)",
                f"{truth['thread_splits']} of {truth['replies']} replies ({truth['thread_splits_same_poll']} in the "
                f"request's poll, {truth['thread_splits_within_25']} within 25 messages of it)",
            ),
            (
                "replies in their request's poll / within 25",
                f"{truth['replies_in_the_same_poll_as_their_request']} / "
                f"{truth['replies_within_25_messages_of_their_request']}",
            ),
            (
                "misthreaded replies / request made no issue",
                f"{truth['misthreaded_replies']} ({truth['misthreaded_replies_answering_a_split_reply']} answering a "
                f"split reply) / {truth['replies_whose_request_made_no_issue']}",
            ),
            ("generated but not captured", truth["not_captured"]),
            ("unexpected outcomes", ", ".join(f"{k} x{v}" for k, v in truth["unexpected_outcomes"].items()) or "none"),
        ]
    stages = report["stage_ms_per_message"]
    if stages:
        order = ["capture", *WORKER_STAGES] + [k for k in stages if k not in ("capture", *WORKER_STAGES)]
        for name in order:
            if name in stages:
                values = stages[name]
                wall = f", wall {values['wall_ms']:.2f} ms" if "wall_ms" in values else ""
                rows.append((f"  stage: {name}", f"CPU {values['cpu_ms']:.2f} ms/msg{wall}"))
    rows.append(("whole run (start-up, loading, floors, end to end)", f"{report['run_seconds']} s"))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for reason, count in (e2e["error_reasons"] or {}).items():
        print(f"  error/failed x{count}: {reason}")


if __name__ == "__main__":
    raise SystemExit(main())
