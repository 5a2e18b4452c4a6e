"""Jira benchmark: a realistic support mailbox captured from Dovecot and processed into a fake Jira that answers in
80 ms and allows 100 requests per second, by two worker processes.

    .venv/bin/python bench/jira.py [--messages 2000] [--seed 11] [--flavour cloud|datacenter]
                                   [--pool threads|prefork] [--threads 8] [--storm 5] [--latency 0.08] [--rate 100]

Starts its own PostgreSQL (default durability), Dovecot and Redis (tests/services starters) and the fake Jira
(tests/trackers/jira_fake, validating every request and response against Atlassian's OpenAPI description) in a
process of its own; fills one mailbox with bench/mailbox.py's generator (45% requests, 45% replies, 10% automated
mail, 15% with attachments) and polls it in another process while two worker processes run:

* ``--pool threads`` (the default): two ``celery worker --pool threads --concurrency N`` processes: each keeps up to N
  messages (and so Jira calls) in flight at once, within the instance's ``jira_max_concurrency`` call slots;
* ``--pool prefork``: one ``celery worker --pool prefork --concurrency 2`` (two pool processes, one message at a time
  each), as bench/inbound.py runs it: the one-call-at-a-time baseline.

Halfway through, a 429 storm (``--storm`` seconds, half of all calls refused with ``Retry-After: 1``) comes on top of
the site's rate limit. Reported: Jira calls per new issue, per comment and per attachment-carrying message once
caches are warm (measured after the run, one message at a time in this process, on copies of the mailbox's messages
with fresh Message-IDs), answered Jira calls per message over the whole run, end-to-end messages/second against the
ceiling the rate limit allows (rate ÷ calls per message; target at least 70% of it), the 429s the fake sent, peak
requests in flight at the fake, duplicates (a message that made more than one issue or comment in Jira, or both) and
lost messages (no final outcome, or an outcome whose issue or comment is not in Jira), thread splits against the
generator's ground truth, and the workers' peak RSS (target at most 150 MB each). Writes bench/results/jira.json.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email.utils import getaddresses
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.inbound import capture_child, children_of, fill_mailbox, postgres_durability  # noqa: E402
from bench.measure import cpu_seconds, peak_rss_mb, percentile  # noqa: E402
from bench.retrieval import PASSWORD, USER  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "jira.json"
TARGET_SHARE_OF_CEILING, TARGET_RSS_MB = 0.70, 150
TARGETS = {"new issue": 2, "comment": 1, "attachments (extra)": 1}
FINAL = ("processed", "error")
OURS = "jemh"  # the fake's issue/comment property holding our keys (trackers.jira.tracker.PROPERTY)


# -- child mode: the fake Jira ---------------------------------------------------------------------------------------


def fake_child(flavour: str, latency: float, rate: float, validate_every: int, validation: str) -> None:
    """Serve a fake Jira; commands on stdin, one JSON answer per line on stdout: ``summary``, ``storm S``,
    ``finish`` (wait for background checks), ``quit``."""
    from tests.trackers.jira_fake import FakeJira

    fake = FakeJira(flavour).start()
    if validation == "background":
        fake.validate_in_background()
    lead = fake.state.add_user("lead", "lead@support.example.com", "Lena Lead")
    helpdesk = fake.state.add_user("helpdesk", "helpdesk@support.example.com", "Help Desk")
    fake.state.add_project("SUP", "Support", lead.account_id)
    fake.state.add_project("BIL", "Billing", lead.account_id)
    fake.latency = latency
    fake.validate_every = validate_every
    fake.limit_rate(rate)
    print(json.dumps({"base_url": fake.base_url, "helpdesk": helpdesk.account_id}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "storm":
            fake.storm(float(command[1]))
            print(json.dumps({"storm": float(command[1])}), flush=True)
        elif command[0] == "summary":
            print(json.dumps(fake_summary(fake)), flush=True)
        elif command[0] == "finish":
            started = time.monotonic()
            checked = fake.finish_validation()
            finished = {"checked": checked, "seconds": round(time.monotonic() - started, 1)}
            print(json.dumps({**finished, "violations": fake.violations[:20]}), flush=True)
        elif command[0] == "quit":
            break
    fake.stop()


def fake_summary(fake: Any) -> dict[str, Any]:
    with fake.state.lock:
        issues = list(fake.state.issues.values())
        issue_sources = [(i.properties.get(OURS) or {}).get("sourceMessageId") for i in issues]
        comment_sources = [
            ((c.properties.get(OURS) or {}).get("sourceMessageId"), i.key) for i in issues for c in i.comments
        ]
        return {
            "calls": dict(fake.calls),
            "refused": dict(fake.refused),
            "refused_calls": dict(fake.refused_calls),
            "peak_in_flight": fake.peak_in_flight,
            "cpu_s": round(time.process_time(), 2),
            "violations": fake.violations[:20],
            "timeline": sorted([second, kind, n] for (second, kind), n in fake.timeline.items()),
            "issues": len(issues),
            "comments": len(comment_sources),
            "attachments": sum(len(i.attachments) for i in issues),
            "issue_of_source": {str(s): i.key for s, i in zip(issue_sources, issues, strict=True) if s is not None},
            "issue_sources": Counter(str(s) for s in issue_sources if s is not None),
            "comment_of_source": {str(s): key for s, key in comment_sources if s is not None},
            "comment_sources": Counter(str(s) for s, _ in comment_sources if s is not None),
        }


class Fake:
    """The fake Jira's process."""

    def __init__(self, options: argparse.Namespace, env: dict[str, str], log: Path) -> None:
        argv = [sys.executable, __file__, "--fake-child", options.flavour, "--latency", str(options.latency)]
        argv += ["--rate", str(options.rate), "--validate-every", str(options.validate_every)]
        argv += ["--validation", options.validation]
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(log, "wb"),  # noqa: SIM115 - lives as long as the child
            text=True,
        )
        self._lock = threading.Lock()
        started = self._read()
        self.base_url, self.helpdesk = str(started["base_url"]), str(started["helpdesk"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the fake Jira exited")
        return dict(json.loads(line))

    def command(self, line: str) -> dict[str, Any]:
        with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            return self._read()

    def answered(self) -> int:
        summary = self.command("summary")
        return sum(summary["calls"].values()) - sum(summary["refused_calls"].values())

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, SystemExit):
                self.command("quit")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# -- the parent ------------------------------------------------------------------------------------------------------


def setup_data(fake: Fake, options: argparse.Namespace, host: str, port: int, batch_limit: int) -> tuple[int, int]:
    """The Jira instance, a profile (default mapping SUP, billing by subject) and the IMAP source. Returns (instance
    id, source id)."""
    from inbound.models import Security, Source, SourceKind
    from jemh.models import Instance, JiraDeployment, TrackerKind
    from profiles.models import MappingRule, Profile, ProjectMapping
    from tests.trackers.jira_fake import FakeJira

    cloud = options.flavour == "cloud"
    instance = Instance.objects.create(
        name="Bench Jira",
        tracker_kind=TrackerKind.JIRA,
        base_url=fake.base_url,
        jira_deployment=JiraDeployment.CLOUD if cloud else JiraDeployment.DATA_CENTER,
        jira_email=FakeJira.EMAIL if cloud else "",
        jira_api_token=FakeJira.API_TOKEN if cloud else "",
        jira_pat="" if cloud else FakeJira.PAT,
        jira_max_concurrency=options.slots,
    )
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
        default_reporter=fake.helpdesk,
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
    )
    return instance.pk, source.pk


def start_workers(options: argparse.Namespace, env: dict[str, str], work: Path) -> list[subprocess.Popen[bytes]]:
    celery = str(Path(sys.executable).with_name("celery"))
    common = ["-A", "jemh", "worker", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    common += ["--loglevel", options.worker_loglevel]
    if options.pool == "prefork":
        commands = [[celery, *common, "--pool", "prefork", "--concurrency", "2", "-n", "bench@%h"]]
    else:
        commands = [
            [celery, *common, "--pool", "threads", "--concurrency", str(options.threads), "-n", f"bench{n}@%h"]
            for n in range(2)
        ]
    workers = []
    for n, argv in enumerate(commands):
        log = open(work / f"worker{n}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        workers.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
    return workers


def processing_pids(options: argparse.Namespace, workers: list[subprocess.Popen[bytes]]) -> list[int]:
    if options.pool == "prefork":
        return children_of(workers[0].pid)
    return [w.pid for w in workers]


def wait_for_workers(options: argparse.Namespace, workers: list[subprocess.Popen[bytes]], work: Path) -> None:
    from jemh.celery import app

    deadline = time.monotonic() + 90
    expected = 2 if options.pool == "prefork" else len(workers)
    while time.monotonic() < deadline:
        for n, worker in enumerate(workers):
            if worker.poll() is not None:
                log = (work / f"worker{n}.log").read_text(errors="replace")[-4000:]
                raise SystemExit(f"a Celery worker exited:\n{log}")
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= len(workers) and len(processing_pids(options, workers)) >= expected:
            return
    raise SystemExit("the Celery workers did not start")


#: once a second while the workers run: how many messages are in each status, and how many worker threads hold claims
STATES: list[dict[str, Any]] = []


def by_status() -> Counter[str]:
    """The audit rows by status."""
    from django.db.models import Count

    from inbound.models import InboundMessage

    rows = InboundMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    return Counter(dict(rows))


@functools.cache
def broker() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def status_counts() -> dict[str, int]:
    from inbound.models import InboundMessage, InboundStatus

    holders = InboundMessage.objects.filter(status=InboundStatus.PROCESSING).values("claimed_by").distinct().count()
    return {
        **{str(k): int(v) for k, v in by_status().items()},
        "claim_holders": holders,
        "queued": int(broker().llen("celery")),
        "unacked": int(broker().hlen("unacked")),
    }


def wait_for_outcomes(
    capture: subprocess.Popen[str], fake: Fake, total: int, storm: float, timeout: float
) -> tuple[int, int, float | None]:
    """Until the capture has ended and every captured message has a final outcome; starts the storm when half the
    mailbox has an outcome. Returns (captured, done, when the storm started)."""
    from inbound.models import InboundMessage

    deadline = time.monotonic() + timeout
    last_print, storm_at = 0.0, None
    while time.monotonic() < deadline:
        captured = InboundMessage.objects.count()
        done = InboundMessage.objects.filter(status__in=FINAL).count()
        if not STATES or time.time() - STATES[-1]["at"] >= 1:
            STATES.append({"at": time.time(), **status_counts()})
        capturing = capture.poll() is None
        if storm and storm_at is None and done >= total // 2:
            fake.command(f"storm {storm}")
            storm_at = time.time()
        if time.monotonic() - last_print > 2:
            print(f"  captured {captured}, with an outcome {done}{' (capture running)' if capturing else ''}", end="\r")
            last_print = time.monotonic()
        if not capturing and done == captured:
            print()
            return captured, done, storm_at
        time.sleep(0.25)
    print()
    return InboundMessage.objects.count(), InboundMessage.objects.filter(status__in=FINAL).count(), storm_at


def results(poll_started: float, summary: dict[str, Any]) -> dict[str, Any]:
    """Outcomes and latencies from the audit rows, checked against what the fake Jira holds."""
    from django.db.models import Count, Max, Min

    from inbound.models import InboundMessage

    messages = InboundMessage.objects.all()
    outcomes = Counter(dict(messages.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")))
    statuses = by_status()
    latencies = [
        (done - created).total_seconds()
        for created, done in messages.filter(processed_at__isnull=False).values_list("created_at", "processed_at")
    ]
    span = messages.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    first, last = span["first"], span["last"]
    elapsed = last.timestamp() - poll_started if last else float("nan")
    issue_sources, comment_sources = Counter(summary["issue_sources"]), Counter(summary["comment_sources"])
    both = set(issue_sources) & set(comment_sources)
    lost = 0  # an outcome that says an issue or comment was made, but Jira has none from that message
    throttled = waited = 0
    problems: Counter[str] = Counter()
    for pk, outcome, report in messages.values_list("pk", "outcome", "report"):
        report = report if isinstance(report, dict) else {}
        throttled += int(report.get("throttled", 0) or 0)
        waited += bool(report.get("thread_wait"))
        if outcome == "created" and str(pk) not in issue_sources:
            lost += 1
        if outcome == "commented" and str(pk) not in comment_sources:
            lost += 1
        if outcome in ("error", "failed"):
            problems[str(report.get("error") or report.get("reason") or "(no reason)")[:200]] += 1
    captured = messages.count()
    without = captured - sum(statuses.get(s, 0) for s in FINAL)
    return {
        "captured": captured,
        "elapsed_s": round(elapsed, 2),
        "messages_per_second": round(captured / elapsed, 1) if elapsed else 0.0,
        "capture_to_outcome_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "capture_to_outcome_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "outcomes": dict(outcomes),
        "statuses": dict(statuses),
        "without_outcome": without,
        "outcome_without_its_jira_change": lost,
        "lost": without + lost,
        "jira_issues": summary["issues"],
        "jira_comments": summary["comments"],
        "jira_attachments": summary["attachments"],
        "messages_with_more_than_one_issue": sum(1 for n in issue_sources.values() if n > 1),
        "messages_with_more_than_one_comment": sum(1 for n in comment_sources.values() if n > 1),
        "messages_with_an_issue_and_a_comment": len(both),
        "doubles": sum(1 for n in issue_sources.values() if n > 1)
        + sum(1 for n in comment_sources.values() if n > 1)
        + len(both),
        "releases_for_rate_limits": throttled,
        "replies_processed_past_their_wait_bound": waited,
        "first_outcome_after_s": round(first.timestamp() - poll_started, 2) if first else None,
        "error_reasons": dict(problems.most_common(10)),
    }


def against_truth(truth: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any]:
    """Replies against the generator's ground truth: a thread split made a new issue, a misthreaded one commented
    on another issue than its request's."""
    from inbound.models import InboundMessage

    row_of = {mid.strip("<>"): pk for pk, mid in InboundMessage.objects.values_list("pk", "message_id")}
    by_position = {int(t["position"]): t for t in truth}
    issue_of, comment_on = summary["issue_of_source"], summary["comment_of_source"]
    splits = misthreaded = replies = 0
    for t in truth:
        if t["kind"] != "reply" or str(t["message_id"]) not in row_of:
            continue
        replies += 1
        pk = str(row_of[str(t["message_id"])])
        request = by_position[int(t["request_position"])]
        request_issue = issue_of.get(str(row_of.get(str(request["message_id"]), "")))
        if pk in issue_of:
            splits += 1
        elif pk in comment_on and comment_on[pk] != request_issue:
            misthreaded += 1
    return {"replies": replies, "thread_splits": splits, "misthreaded_replies": misthreaded}


def _fresh_attachments(raw: bytes) -> bytes:
    """The message with other bytes in each attachment (so a copy of a reply is not deduplicated against the
    attachments its original already added to the issue)."""
    import base64
    import email
    from email.policy import compat32

    message = email.message_from_bytes(raw, policy=compat32)
    changed = False
    for part in message.walk():
        if part.get_filename() and part.get("Content-Transfer-Encoding", "").lower() == "base64":
            data = part.get_payload(decode=True) or b""
            part.set_payload(base64.encodebytes(b"calibration copy " + data).decode())
            changed = True
    return message.as_bytes(policy=compat32.clone(linesep="\r\n")) if changed else raw


def calibrate(instance_id: int, fake: Fake, truth: list[dict[str, Any]], raws: dict[str, bytes]) -> dict[str, Any]:
    """Jira calls per message kind with warm caches: copies of the mailbox's requests and replies (with and without
    attachments) under fresh Message-IDs, processed one at a time here after the senders and fields are cached."""
    from inbound.pipeline.service import process_inbound
    from inbound.pipeline.testcases import record_test_message
    from jemh.models import Instance
    from trackers.registry import get_tracker

    picks: dict[str, list[dict[str, Any]]] = {"request": [], "request+att": [], "reply": [], "reply+att": []}
    for t in truth:
        if t["kind"] not in ("request", "reply"):
            continue
        kind = t["kind"] + ("+att" if t["attachments"] else "")
        if len(picks[kind]) < 8:
            picks[kind].append(t)
    addresses: set[str] = set()
    for chosen in picks.values():
        for t in chosen:
            head = raws[t["message_id"]].split(b"\r\n\r\n", 1)[0].decode("latin-1")
            values = re.findall(r"^(?:From|To|Cc|Reply-To):(.*(?:\r\n[ \t].*)*)", head, re.M | re.I)
            addresses |= {a.lower() for _, a in getaddresses(values) if "@" in a}
    tracker = get_tracker(Instance.objects.get(pk=instance_id))
    tracker.find_users_by_email(sorted(addresses))  # warm: every sender and addressee is cached now
    costs: dict[str, list[int]] = {}
    outcomes: Counter[str] = Counter()
    for kind, chosen in picks.items():
        for n, t in enumerate(chosen):
            raw = raws[t["message_id"]]
            fresh = f"<calibration-{kind}-{n}-{time.monotonic_ns()}@bench.example>".encode()
            raw = _fresh_attachments(re.sub(rb"(?im)^Message-ID:[^\r\n]*", b"Message-ID: " + fresh, raw, count=1))
            before = fake.answered()
            message = record_test_message(instance_id, raw)
            outcome = process_inbound(message.pk) or ""
            outcomes[f"{kind} -> {outcome}"] += 1
            if n == 0:
                continue  # the first of each kind warms what is left (projects, fields, priorities)
            costs.setdefault(kind, []).append(fake.answered() - before)
    median = {kind: statistics.median(values) for kind, values in costs.items() if values}
    per = {
        "new issue": median.get("request"),
        "comment": median.get("reply"),
        "new issue with attachments": median.get("request+att"),
        "comment with attachments": median.get("reply+att"),
    }
    extra = [
        per[f"{kind} with attachments"] - per[kind]
        for kind in ("new issue", "comment")
        if per.get(kind) is not None and per.get(f"{kind} with attachments") is not None
    ]
    per["attachments (extra)"] = max(extra) if extra else None
    return {"calls": per, "samples": {k: v for k, v in costs.items()}, "outcomes": dict(outcomes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--poll-size", type=int, default=500)
    parser.add_argument("--flavour", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--pool", choices=("threads", "prefork"), default="threads")
    parser.add_argument("--threads", type=int, default=8, help="threads pool: concurrency of each worker process")
    parser.add_argument("--slots", type=int, default=10, help="the instance's jira_max_concurrency")
    parser.add_argument("--latency", type=float, default=0.08, help="seconds the fake takes per call")
    parser.add_argument(
        "--validate-every",
        type=int,
        default=1,
        help="the fake checks one call in every N against the OpenAPI description (1: each, as in the tests)",
    )
    parser.add_argument(
        "--validation",
        choices=("background", "inline"),
        default="background",
        help="background (default): every checked call is checked by a process of its own at the lowest CPU "
        "priority, after answering it; inline: while answering it, as in the tests",
    )
    parser.add_argument("--rate", type=float, default=100.0, help="the fake's rate limit, requests per second")
    parser.add_argument("--storm", type=float, default=5.0, help="seconds of a 429 storm (0: none)")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--worker-loglevel", default="WARNING")
    parser.add_argument("--capture-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake-child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.capture_child:
        print(json.dumps(capture_child(options.capture_child)))
        return 0
    if options.fake_child:
        fake_child(options.fake_child, options.latency, options.rate, options.validate_every, options.validation)
        return 0
    run_started = time.monotonic()

    import psycopg

    from tests.services.dovecot import start_dovecot
    from tests.services.postgres import start_postgres
    from tests.services.redis import start_redis

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-jira-"))
    work.chmod(0o755)
    postgres = dovecot = redis = fake = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        print(f"starting PostgreSQL, Dovecot, Redis and the fake Jira under {work} ...", flush=True)
        postgres = start_postgres(work / "postgres", durable=True)
        dovecot = start_dovecot(work / "dovecot")
        redis = start_redis(work / "redis")
        dovecot.add_user(USER, PASSWORD)
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE jemh_bench")
        pg_settings = postgres_durability(postgres.url)
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/jemh_bench",
            "REDIS_URL": redis.url,
            "JEMH_VAR_DIR": str(work / "var"),
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "LOG_LEVEL": "WARNING",
            "JEMH_RETRY_BASE_SECONDS": "2",
        }
        for key in [k for k in env if k.startswith(("JEMH_S3_", "CELERY_BROKER_URL", "JEMH_STAGE_TIMES"))]:
            env.pop(key)
        env.pop("JEMH_PROCESS_INLINE", None)
        os.environ.update(env)
        fake = Fake(options, env, work / "fake.log")
        import django

        django.setup()
        from django.core.management import call_command

        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        options.mailbox = "realistic"
        truth = fill_mailbox(dovecot, options)
        from bench.mailbox import generate

        raws = {m.message_id: m.raw for m in generate(options.messages, options.seed)}
        instance_id, source_id = setup_data(fake, options, dovecot.host, dovecot.imap_port, options.poll_size)
        from django.db import connection

        connection.close()
        shape = (
            "one worker, prefork, 2 pool processes"
            if options.pool == "prefork"
            else f"two workers, threads pool of {options.threads} each"
        )
        print(f"starting the Celery workers ({shape}) ...", flush=True)
        workers = start_workers(options, env, work)
        wait_for_workers(options, workers, work)
        pids = processing_pids(options, workers)
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        load_before = os.getloadavg()
        print("end to end: polls in their own process, the workers processing into the fake Jira ...", flush=True)
        capture = subprocess.Popen(
            [sys.executable, __file__, "--capture-child", str(source_id)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        captured, done, storm_at = wait_for_outcomes(capture, fake, options.messages, options.storm, options.timeout)
        out, err = capture.communicate(timeout=60)
        if capture.returncode:
            raise SystemExit(f"the capture failed:\n{err[-4000:]}")
        if done < captured:
            print(f"WARNING: {captured - done} message(s) without a final outcome after {options.timeout} s")
        capture_run = json.loads(out.strip().splitlines()[-1])
        pids = sorted(set(pids) | set(processing_pids(options, workers)))
        rss = {str(pid): peak_rss_mb(pid) for pid in pids}
        main_rss = [peak_rss_mb(w.pid) for w in workers]
        worker_cpu = round(sum(cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in pids), 2)
        load_after = os.getloadavg()
        summary = fake.command("summary")
        result = results(float(capture_run["started"]), summary)
        checked = against_truth(truth, summary)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        print("calibrating: Jira calls per message kind with warm caches, one message at a time ...", flush=True)
        calibration = calibrate(instance_id, fake, truth, raws)
        print("waiting for the fake's OpenAPI checks to catch up ...", flush=True)
        validation = fake.command("finish")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        if fake is not None:
            fake.stop()
        for service in (redis, dovecot, postgres):
            if service is not None:
                service.stop()
        if options.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    answered = sum(summary["calls"].values()) - sum(summary["refused_calls"].values())
    per_message = answered / max(1, result["captured"])
    ceiling = options.rate / per_message if per_message else float("inf")
    share = result["messages_per_second"] / ceiling if ceiling else 0.0
    per = calibration["calls"]
    meets_calls = all(per.get(k) is not None and per[k] <= v for k, v in TARGETS.items())
    worst_rss = max(rss.values() or [0.0])
    report = {
        "messages": options.messages,
        "seed": options.seed,
        "flavour": options.flavour,
        "fake": {
            "latency_s": options.latency,
            "rate_limit_per_s": options.rate,
            "storm_s": options.storm,
            "validate_every": options.validate_every,
            "validation": options.validation,
            "checked_calls": validation["checked"] if options.validation == "background" else None,
            "checks_caught_up_after_run_s": validation["seconds"],
        },
        "setup": {
            "workers": shape,
            "jira_max_concurrency": options.slots,
            "broker": "redis",
            "database": "postgresql",
            "postgres_settings": pg_settings,
            "cpus": os.cpu_count(),
        },
        "calls_warm": per,
        "calls_warm_targets": TARGETS,
        "calibration": calibration,
        "end_to_end": result,
        "ground_truth": checked,
        "jira": {
            "answered_calls": answered,
            "answered_calls_per_message": round(per_message, 3),
            "calls_by_operation": summary["calls"],
            "refused": summary["refused"],
            "refused_by_operation": summary["refused_calls"],
            "peak_in_flight": summary["peak_in_flight"],
            "fake_cpu_s": summary["cpu_s"],
            "spec_violations": validation["violations"],
            "calls_per_second": per_second(summary["timeline"], float(capture_run["started"])),
        },
        "ceiling_messages_per_second": round(ceiling, 1),
        "share_of_ceiling": round(share, 3),
        "storm_started": storm_at,
        "statuses_each_second": [
            {**state, "at": round(state["at"] - float(capture_run["started"]), 1)} for state in STATES
        ],
        "capture": capture_run,
        "worker_peak_rss_mb": {"processing": rss, "main": main_rss},
        "worker_cpu_seconds": worker_cpu,
        "worker_cpu_ms_per_message": round(1000 * worker_cpu / max(1, result["captured"]), 2),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "meets_calls": meets_calls,
        "meets_share_of_ceiling": share >= TARGET_SHARE_OF_CEILING,
        "meets_memory": worst_rss <= TARGET_RSS_MB,
        "nothing_lost": result["lost"] == 0,
        "nothing_doubled": result["doubles"] == 0,
        "run_seconds": round(time.monotonic() - run_started, 1),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def per_second(timeline: list[list[Any]], started: float) -> dict[str, list[int]]:
    """The fake's answers ("answered", "refused") in each whole second from the poll's start on."""
    first = int(started)
    last = max((int(second) for second, _, _ in timeline), default=first)
    series = {kind: [0] * (last - first + 1) for kind in ("answered", "refused")}
    for second, kind, count in timeline:
        if int(second) >= first:
            series[kind][int(second) - first] += int(count)
    return series


def print_table(report: dict[str, Any]) -> None:
    e2e, jira, per = report["end_to_end"], report["jira"], report["calls_warm"]
    fake = report["fake"]

    def calls(kind: str) -> str:
        value = per.get(kind)
        target = TARGETS.get(kind)
        return ("?" if value is None else f"{value:g}") + (f" (target <= {target})" if target else "")

    rows: list[tuple[str, object]] = [
        ("mailbox", f"realistic, {report['messages']} messages, seed {report['seed']}"),
        (
            "fake Jira",
            f"{report['flavour']}, {fake['latency_s'] * 1000:.0f} ms per call, {fake['rate_limit_per_s']:g} req/s, "
            f"a {fake['storm_s']:g} s storm (half of all calls refused); OpenAPI checks on "
            + ("every call" if fake["validate_every"] <= 1 else f"1 call in {fake['validate_every']}")
            + (
                f", in the background at nice 19 ({fake['checked_calls']} checked; caught up "
                f"{fake['checks_caught_up_after_run_s']} s after the run)"
                if fake["validation"] == "background"
                else ", while answering"
            ),
        ),
        ("workers", f"{report['setup']['workers']}; {report['setup']['jira_max_concurrency']} call slots"),
        ("Jira calls per new issue (warm)", calls("new issue")),
        ("Jira calls per comment (warm)", calls("comment")),
        ("extra calls for attachments (warm)", calls("attachments (extra)")),
        (
            "  new issue / comment with attachments",
            f"{per.get('new issue with attachments')} / {per.get('comment with attachments')}",
        ),
        ("answered Jira calls per message (whole run)", jira["answered_calls_per_message"]),
        (
            "end to end (poll start → last outcome)",
            f"{e2e['messages_per_second']} msg/s ({e2e['captured']} in {e2e['elapsed_s']} s)",
        ),
        (
            "ceiling (rate ÷ calls per message)",
            f"{report['ceiling_messages_per_second']} msg/s; reached {report['share_of_ceiling']:.0%} "
            f"(target >= {TARGET_SHARE_OF_CEILING:.0%})",
        ),
        ("capture → outcome p50 / p95", f"{e2e['capture_to_outcome_p50_s']} s / {e2e['capture_to_outcome_p95_s']} s"),
        ("429s sent by the fake", ", ".join(f"{k} {v}" for k, v in jira["refused"].items()) or "none"),
        ("messages released for a rate limit", e2e["releases_for_rate_limits"]),
        ("replies processed past their wait bound", e2e["replies_processed_past_their_wait_bound"]),
        ("first outcome after poll start", f"{e2e['first_outcome_after_s']} s"),
        ("peak requests in flight at the fake", jira["peak_in_flight"]),
        ("fake Jira CPU (its serving process; inline checks included)", f"{jira['fake_cpu_s']} s"),
        ("outcomes", ", ".join(f"{k or '(none)'} {v}" for k, v in sorted(e2e["outcomes"].items()))),
        (
            "Jira issues / comments / attachments",
            f"{e2e['jira_issues']} / {e2e['jira_comments']} / {e2e['jira_attachments']}",
        ),
        (
            "lost (no outcome / outcome not in Jira)",
            f"{e2e['lost']} ({e2e['without_outcome']} / {e2e['outcome_without_its_jira_change']})",
        ),
        (
            "doubles (> 1 issue / > 1 comment / both)",
            f"{e2e['doubles']} ({e2e['messages_with_more_than_one_issue']} / "
            f"{e2e['messages_with_more_than_one_comment']} / {e2e['messages_with_an_issue_and_a_comment']})",
        ),
        (
            "thread splits / misthreaded replies",
            f"{report['ground_truth']['thread_splits']} / "
            f"{report['ground_truth']['misthreaded_replies']} of {report['ground_truth']['replies']} replies",
        ),
        ("worker CPU per message", f"{report['worker_cpu_ms_per_message']} ms"),
        (
            "worker peak RSS MB (processing; main)",
            f"{list(report['worker_peak_rss_mb']['processing'].values())}; "
            f"{report['worker_peak_rss_mb']['main']} (target <= {TARGET_RSS_MB})",
        ),
        ("load average (1 min) before / after", report["load_average_before_after"]),
        ("spec violations seen by the fake", len(jira["spec_violations"])),
        ("whole run", f"{report['run_seconds']} s"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    answered = jira["calls_per_second"]["answered"]
    print("answered Jira calls in each second from the poll's start (10 a line):")
    for start in range(0, len(answered), 10):
        print(f"  {start:>4} s  " + " ".join(f"{n:>3}" for n in answered[start : start + 10]))
    print("messages claimed (processing) / worker processes holding claims, each second from the poll's start:")
    states = report["statuses_each_second"]
    for start in range(0, len(states), 10):
        print(
            f"  {start:>4} s  "
            + " ".join(f"{s.get('processing', 0):>3}/{s['claim_holders']}" for s in states[start : start + 10])
        )
    for reason, count in (e2e["error_reasons"] or {}).items():
        print(f"  error/failed x{count}: {reason}")


if __name__ == "__main__":
    raise SystemExit(main())
