"""Audit benchmark: the inbound audit list and a detail page on a table of a million rows.

    .venv/bin/python bench/audit.py [--rows 1000000] [--checkpoints 100000,1000000] [--repeat 5]

Starts its own PostgreSQL at its default durability (fsync and synchronous_commit on), migrates, and fills the
inbound audit table (``auditing_inboundmessage``) with COPY, in time order as capture writes it: 5 sources, 12
months, a support mailbox's outcome mix (mostly comments and new issues, a fifth auto-replies, bounces and lists
dropped, a few rejections, forwards, filtered, failures and errors), personal fields encrypted as the app stores
them (a pool of senders, subjects and reports, encrypted once each and reused, so a sender has hundreds of rows),
a unique Message-ID hash per row, the raw mail of the last 30 days named as kept. At each checkpoint it ANALYZEs
and times, through Django's test client signed in as a superuser (server time: no network in between), the list's
first page, each filter, a search by an exact address, a search by issue key, and a detail page (its raw mail
stored for real), ``--repeat`` times each after one warm-up, and reports the median and the queries of a page.

Targets (issue 12): every page under 300 ms at 1,000,000 rows, and growing no faster than logarithmically from
100,000 to 1,000,000 (at most log(1e6)/log(1e5) = 1.2 times, with 5 ms for the machine's noise): the list never
counts the whole table (auditing.paging) and every filter has an index that serves the list's order.
Writes bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on sys.path, where a bench module could shadow an app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "audit.json"
TARGET_MS = 300.0
NOISE_MS = 5.0
BLOCK_SLACK = 10  # index levels and visibility-map pages
SOURCES = 5
MONTHS_DAYS = 365
SENDERS, SUBJECTS = 2000, 500
COPY_CHUNK = 50_000
# A support mailbox's outcomes (share of rows), with the status each leaves.
OUTCOMES: list[tuple[str, str, float]] = [
    ("commented", "processed", 0.38),
    ("created", "processed", 0.30),
    ("dropped", "processed", 0.20),
    ("rejected", "processed", 0.04),
    ("forwarded", "processed", 0.02),
    ("filtered", "processed", 0.03),
    ("failed", "failed", 0.015),
    ("error", "error", 0.01),
    ("", "received", 0.005),
]
COLUMNS = (
    "instance_id",
    "source_id",
    "received_at",
    "message_id",
    "message_id_hash",
    "content_hash",
    "subject",
    "sender",
    "sender_hash",
    "recipients",
    "size",
    "raw_blob",
    "raw_retained_until_processed",
    "duplicate_copies",
    "status",
    "outcome",
    "report",
    "issue_key",
    "processed_at",
    "claimed_by",
    "overruns",
    "created_at",
    "updated_at",
)


def setup_world() -> dict[str, Any]:
    """An instance, its profile and 5 pipe sources, and a superuser: what the rows point at."""
    from django.contrib.auth import get_user_model

    from inbound.models import Source, SourceKind
    from jemh.models import Instance
    from profiles.models import Profile, ProjectMapping

    instance = Instance.objects.create(name="Acme")
    profiles = [Profile.objects.create(instance=instance, name=f"Desk {n}") for n in range(2)]
    for profile in profiles:
        ProjectMapping.objects.create(profile=profile, name="default", is_default=True, project_key="SUP")
    sources = [
        Source.objects.create(
            instance=instance, name=f"box-{n}", kind=SourceKind.PIPE, profile=profiles[n % len(profiles)]
        )
        for n in range(SOURCES)
    ]
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "x")
    return {"instance": instance, "profiles": profiles, "sources": sources, "user": user}


def pools(rng: random.Random) -> dict[str, list[Any]]:
    """Encrypted values, each made once and reused across rows (encrypting a million of each would dominate)."""
    from jemh import crypto

    names = ["carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent"]
    domains = ["customer.example", "acme.example", "gmail.example", "icloud.example", "corp.example"]
    senders = [f"{rng.choice(names)}.{n}@{rng.choice(domains)}" for n in range(SENDERS)]
    words = ["printer", "invoice", "login", "VPN", "password reset", "laptop", "order", "refund", "error", "access"]
    subjects = [f"{'Re: ' if n % 2 else ''}{rng.choice(words)} {rng.choice(words)} #{n}" for n in range(SUBJECTS)]
    report = {
        "outcome": "commented",
        "reason": "added to SUP-12 (subject key)",
        "steps": [{"step": s, "verdict": "continue", "reason": "ok"} for s in ("filters", "routing", "association")],
    }
    return {
        "senders": [(crypto.encrypt_text(s), crypto.keyed_hash(s, purpose="address"), s) for s in senders],
        "subjects": [crypto.encrypt_text(s) for s in subjects],
        "recipients": [crypto.encrypt_text(json.dumps({"To": ["support@support.example.com"]}))],
        "message_ids": [crypto.encrypt_text(f"{uuid.UUID(int=rng.getrandbits(128))}@mail.example") for _ in range(50)],
        "reports": [crypto.encrypt_text(json.dumps(report))],
    }


def copy_rows(world: dict[str, Any], start: int, count: int, pool: dict[str, list[Any]], now: datetime) -> None:
    """COPY rows numbered ``start`` .. ``start + count``, in time order over the last 12 months."""
    from django.db import connection

    rng = random.Random(start)
    first = now - timedelta(days=MONTHS_DAYS)
    span = (now - first).total_seconds()
    weights = [share for _, _, share in OUTCOMES]
    instance_id = world["instance"].pk
    source_ids = [s.pk for s in world["sources"]]
    kept_after = now - timedelta(days=30)
    connection.ensure_connection()
    raw = connection.connection  # the psycopg 3 connection (autocommit, as Django keeps it)
    for chunk_start in range(start, start + count, COPY_CHUNK):
        buffer = io.StringIO()
        for n in range(chunk_start, min(start + count, chunk_start + COPY_CHUNK)):
            received = first + timedelta(seconds=span * (n - start + rng.random() * 0.9) / count)
            outcome, status, _ = rng.choices(OUTCOMES, weights)[0]
            sender, sender_hash, _ = rng.choice(pool["senders"])
            issue_key = f"SUP-{n // 3 + 1}" if outcome in ("created", "commented") else ""
            processed = "" if status == "received" else (received + timedelta(seconds=2)).isoformat()
            values = (
                instance_id,
                rng.choice(source_ids),
                received.isoformat(),
                rng.choice(pool["message_ids"]),
                f"{n:064x}",
                "",
                rng.choice(pool["subjects"]),
                sender,
                sender_hash,
                pool["recipients"][0],
                rng.randint(3_000, 400_000),
                f"inbound/{n}.eml" if received > kept_after else "",
                "f",
                0,
                status,
                outcome,
                pool["reports"][0],
                issue_key,
                processed or "\\N",
                "",
                0,
                received.isoformat(),
                (processed or received.isoformat()),
            )
            buffer.write("\t".join(str(v) for v in values) + "\n")
        statement = f"COPY auditing_inboundmessage ({', '.join(COLUMNS)}) FROM STDIN"
        with raw.cursor() as raw_cursor, raw_cursor.copy(statement) as copy:
            copy.write(buffer.getvalue())
        print(f"  {min(start + count, chunk_start + COPY_CHUNK):>9,} rows", end="\r", flush=True)
    print()


def pages(world: dict[str, Any], pool: dict[str, list[Any]], detail_id: int, now: datetime) -> dict[str, str]:
    """The pages timed, by name: the list (first page, each filter, two searches) and a detail page."""
    from urllib.parse import urlencode

    from django.urls import reverse

    base = reverse("admin:inbound_inboundmessage_changelist")
    month = (now - timedelta(days=180)).date()

    def listed(**params: Any) -> str:
        return f"{base}?{urlencode(params)}" if params else base

    return {
        "list: first page": listed(),
        "list: outcome = commented": listed(outcome__exact="commented"),
        "list: outcome = error (1%)": listed(outcome__exact="error"),
        "list: status = failed": listed(status__exact="failed"),
        "list: source": listed(source__id__exact=world["sources"][2].pk),
        "list: profile": listed(source__profile__id__exact=world["profiles"][1].pk),
        "list: instance": listed(instance__id__exact=world["instance"].pk),
        "list: date range (one month)": listed(
            received_at__range__gte=month.isoformat(), received_at__range__lte=(month + timedelta(days=30)).isoformat()
        ),
        "list: maintenance traffic": listed(traffic="maintenance"),
        "list: issue traffic": listed(traffic="issues"),
        "list: page 3": listed(p=3),
        "search: an exact address": listed(q=pool["senders"][7][2]),
        "search: an issue key": listed(q="SUP-4242"),
        "detail page": reverse("admin:inbound_inboundmessage_change", args=[detail_id]),
    }


def time_pages(client: Any, urls: dict[str, str], repeat: int) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timed: dict[str, dict[str, Any]] = {}
    for name, url in urls.items():
        response = client.get(url)  # warm-up (and the check that the page works)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {url} answered {response.status_code}")
        samples, cpu, sql = [], [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
        audit_sql = [q["sql"] for q in queries.captured_queries if "auditing_inboundmessage" in q["sql"]]
        blocks = [buffers_of(sql) for sql in audit_sql]
        timed[name] = {
            "url": url,
            "median_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1),
            "django_cpu_median_ms": round(statistics.median(cpu), 1),
            "sql_median_ms": round(statistics.median(sql), 1),
            "audit_table_blocks": sum(blocks),  # 8 KB pages (table + index) the page's audit queries touched
            "audit_queries_blocks": blocks,
            "queries": len(queries.captured_queries),
            "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
            "slowest_query": slowest["sql"][:300],
        }
        print(
            f"  {name:<32} {timed[name]['median_ms']:>8.1f} ms (min {timed[name]['min_ms']:.1f}, "
            f"SQL {timed[name]['sql_median_ms']:.1f}, {timed[name]['queries']} queries, "
            f"{timed[name]['audit_table_blocks']} blocks)",
            flush=True,
        )
    return timed


def buffers_of(sql: str) -> int:
    """The shared buffers (8 KB pages of table and indexes) a query touches, from EXPLAIN (ANALYZE, BUFFERS): a
    measure of a query's work the machine's other load does not move."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


def store_detail_blob(message_id: int) -> None:
    """The detail page's message gets real raw mail, so its header summary reads the stored blob."""
    from inbound.models import InboundMessage
    from jemh.storage import blob_storage

    raw = (
        b"From: Carol <carol@customer.example>\r\nTo: support@support.example.com\r\nSubject: Printer on fire\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@mail.example>\r\n\r\nIt burns.\r\n"
    )
    name = blob_storage().save_bytes(f"inbound/bench-{message_id}.eml", raw)
    InboundMessage.objects.filter(pk=message_id).update(raw_blob=name)


def growth_check(results: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    counts = sorted(results)
    small, large = counts[0], counts[-1]
    allowed = math.log(large) / math.log(small) if small > 1 else math.inf
    verdict: dict[str, Any] = {"from_rows": small, "to_rows": large, "allowed_ratio": round(allowed, 3), "pages": {}}
    for name in results[large]:
        # Growth compares the fastest runs (the machine's other load only ever adds); the target, the medians.
        a, b = results[small][name]["min_ms"], results[large][name]["min_ms"]
        blocks_a, blocks_b = results[small][name]["audit_table_blocks"], results[large][name]["audit_table_blocks"]
        verdict["pages"][name] = {
            "ratio": round(b / a, 2) if a else None,
            "blocks_ratio": round(blocks_b / blocks_a, 2) if blocks_a else None,
            # The work (pages read) grows no faster than the B-tree's depth: a level more at most per 10x.
            "blocks_logarithmic": blocks_b <= blocks_a * allowed + BLOCK_SLACK,
            "under_target": results[large][name]["median_ms"] < TARGET_MS,
            "logarithmic": b <= a * allowed + NOISE_MS,
        }
    verdict["all_under_target"] = all(p["under_target"] for p in verdict["pages"].values())
    verdict["all_logarithmic"] = all(p["logarithmic"] for p in verdict["pages"].values())
    verdict["all_blocks_logarithmic"] = all(p["blocks_logarithmic"] for p in verdict["pages"].values())
    return verdict


def print_table(results: dict[int, dict[str, dict[str, Any]]], verdict: dict[str, Any]) -> None:
    counts = sorted(results)
    cell = 26
    header = f"{'page: median ms (min) / blocks':<32}" + "".join(f"{f'{c:,} rows':>{cell}}" for c in counts)
    header += f"{'x time':>8}{'x blocks':>9}  ok"
    print(header)
    print("-" * len(header))
    for name in results[counts[-1]]:
        cells = "".join(
            f"{results[c][name]['median_ms']:>9.1f} ({results[c][name]['min_ms']:>6.1f}) / "
            f"{results[c][name]['audit_table_blocks']:>5}"
            for c in counts
        )
        page = verdict["pages"][name]
        ok = "yes" if page["under_target"] and page["logarithmic"] and page["blocks_logarithmic"] else "NO"
        print(f"{name:<32}{cells}{page['ratio'] or 0:>8.2f}{page['blocks_ratio'] or 0:>9.2f}  {ok}")
    allowed = verdict["allowed_ratio"]
    print(f"target: median under {TARGET_MS:.0f} ms at {counts[-1]:,} rows: {met(verdict['all_under_target'])}")
    print(
        f"growth from {counts[0]:,}, at most x{allowed}: fastest run (+{NOISE_MS:.0f} ms) "
        f"{met(verdict['all_logarithmic'])}; blocks read (+{BLOCK_SLACK}) {met(verdict['all_blocks_logarithmic'])}"
    )


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", default="100000,1000000", help="row counts to time at (the last = --rows)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if c} | {args.rows})
    checkpoints = [c for c in checkpoints if c <= args.rows]

    from tests.services.postgres import start_postgres

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-audit-"))
    work.chmod(0o755)
    print(f"starting PostgreSQL (default durability) under {work} ...", flush=True)
    postgres = start_postgres(work / "postgres", durable=True)
    try:
        os.environ.update(
            {
                "DATABASE_URL": postgres.url,
                "JEMH_VAR_DIR": str(work / "var"),
                "DJANGO_SETTINGS_MODULE": "jemh.settings",
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import setup_test_environment
        from django.utils import timezone

        setup_test_environment()  # the test client's response.context, and no real mail
        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # as production serves the admin's assets
        world = setup_world()
        rng = random.Random(12)
        pool = pools(rng)
        now = timezone.now()
        client = Client()
        client.force_login(world["user"])
        results: dict[int, dict[str, dict[str, Any]]] = {}
        load_seconds = 0.0
        detail_id = 0
        for checkpoint in checkpoints:
            # Each checkpoint's table is loaded afresh in time order over the whole year, as capture writes it
            # (adding rows to an earlier year would interleave two years in the heap: not a table anyone has).
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE auditing_inboundmessage CASCADE")
            print(f"loading {checkpoint:,} rows with COPY ...", flush=True)
            started = time.perf_counter()
            copy_rows(world, 0, checkpoint, pool, now)
            load_seconds += time.perf_counter() - started
            with connection.cursor() as cursor:
                # What autovacuum does to an audit table soon after: statistics, and the visibility map that lets
                # the paginator's count probe read the index alone.
                cursor.execute("VACUUM ANALYZE auditing_inboundmessage")
                cursor.execute("SELECT max(id) FROM auditing_inboundmessage WHERE outcome = 'commented'")
                detail_id = cursor.fetchone()[0]
            store_detail_blob(detail_id)
            print(f"timing pages at {checkpoint:,} rows ({args.repeat} runs each, median) ...", flush=True)
            results[checkpoint] = time_pages(client, pages(world, pool, detail_id, now), args.repeat)
        verdict = growth_check(results) if len(results) > 1 else {}
        if verdict:
            print_table(results, verdict)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('auditing_inboundmessage')")
            table_bytes = cursor.fetchone()[0]
        out: dict[str, Any] = {
            "rows": args.rows,
            "checkpoints": checkpoints,
            "sources": SOURCES,
            "months": 12,
            "outcome_mix": {outcome or "(not processed yet)": share for outcome, _, share in OUTCOMES},
            "database": "postgresql, default durability",
            "load_seconds_copy": round(load_seconds, 1),
            "table_size_mb_with_indexes": round(table_bytes / 1024 / 1024, 1),
            "repeat": args.repeat,
            "target_ms": TARGET_MS,
            "results_ms": {str(c): pages for c, pages in results.items()},
            "verdict": verdict,
            "cpus": os.cpu_count(),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=2) + "\n")
        print(f"written {RESULTS.relative_to(ROOT)}")
        ok = not verdict or all(verdict[k] for k in ("all_under_target", "all_logarithmic", "all_blocks_logarithmic"))
        return 0 if ok else 1
    finally:
        from django.db import connections

        connections.close_all()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
