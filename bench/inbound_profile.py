"""Where a worker's time goes: the realistic mailbox captured and processed in this one process, under cProfile.

    .venv/bin/python bench/inbound_profile.py [--messages 600] [--seed 11] [--top 40] [--sort tottime] [--dump PATH]

Starts its own durable PostgreSQL (default durability), captures ``--messages`` of bench/mailbox.py's realistic
mailbox through ``inbound.capture.capture_batch`` (no IMAP), then processes them in groups of 25 as the worker
does (``inbound.pipeline.tasks.process_group``), profiled. Prints SQL statements and commits per message by
statement kind, the CPU PostgreSQL spent per message, and the top functions. A diagnostic for bench/inbound.py
(which measures the real thing).

``--capture`` profiles the capture instead; ``--cpu`` profiles CPU time (waits for PostgreSQL left out);
``--time module:function,...`` prints the CPU per message spent inside each named function, measured without
cProfile (whose cost per call inflates code that makes many small calls, such as character loops, about tenfold).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import inspect
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--sql", action="store_true", help="print each distinct SQL statement shape with its count")
    parser.add_argument("--where", help="for statements containing this text, count the project frames calling them")
    parser.add_argument("--no-profile", action="store_true", help="time only (CPU per message without cProfile)")
    parser.add_argument(
        "--cpu", action="store_true", help="profile CPU time (time.process_time) instead of wall time: leaves out waits"
    )
    parser.add_argument(
        "--capture", action="store_true", help="profile capture (capture_batch in groups of 25) instead of processing"
    )
    parser.add_argument(
        "--time",
        metavar="MODULE:NAME,...",
        help="CPU time inside each named function (module:function or module:Class.method; inclusive), per message; "
        "name the module its caller looks it up in (a from-import binds a name of its own)",
    )
    parser.add_argument("--dump", metavar="PATH", help="also write the profile there (pstats format)")
    parser.add_argument(
        "--pg-statements",
        action="store_true",
        help="load pg_stat_statements and print the statements PostgreSQL spent most time executing while processing",
    )
    options = parser.parse_args()

    import psycopg

    from tests.services.postgres import start_postgres

    work = Path(tempfile.mkdtemp(prefix="jemh-profile-"))
    work.chmod(0o755)
    extra = {"shared_preload_libraries": "pg_stat_statements", "track_io_timing": "on"} if options.pg_statements else {}
    postgres = start_postgres(work / "postgres", durable=True, settings=extra)
    try:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE jemh_bench")
        if options.pg_statements:
            with psycopg.connect(postgres.url.rsplit("/", 1)[0] + "/jemh_bench", autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_stat_statements")
        os.environ.update(
            {
                "DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/jemh_bench",
                "JEMH_VAR_DIR": str(work / "var"),
                "DJANGO_SETTINGS_MODULE": "jemh.settings",
                "LOG_LEVEL": "WARNING",
                "CELERY_TASK_ALWAYS_EAGER": "false",
            }
        )
        os.environ.pop("JEMH_PROCESS_INLINE", None)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from bench.inbound import setup_data
        from bench.mailbox import generate
        from inbound.capture import Incoming, capture_batch
        from inbound.models import InboundMessage, Source

        source = Source.objects.get(pk=setup_data("127.0.0.1", 1))
        mails = list(generate(options.messages, options.seed))

        def capture_all() -> None:
            for start in range(0, len(mails), 25):
                capture_batch(source, [Incoming(raw=m.raw, key=str(m.position)) for m in mails[start : start + 25]])

        if not options.capture:
            capture_all()
        ids = list(InboundMessage.objects.order_by("pk").values_list("pk", flat=True))
        from inbound.pipeline.tasks import process_group

        statements: Counter[str] = Counter()
        shapes: Counter[str] = Counter()
        shape_cpu: dict[str, float] = defaultdict(float)  # CPU seconds in each statement shape's execute
        callers: Counter[str] = Counter()

        def count(execute, sql, params, many, context):
            head = sql.lstrip().split(None, 1)[0].upper()
            statements[head] += 1
            if options.sql:
                shapes[sql[:160]] += 1
            if options.where and options.where in sql:
                frames = [
                    f"{Path(f.filename).relative_to(ROOT)}:{f.lineno}({f.name})"
                    for f in traceback.extract_stack()[:-1]
                    if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename and "bench/" not in f.filename
                ]
                callers[" < ".join(reversed(frames[-4:]))] += 1
            if not options.sql:
                return execute(sql, params, many, context)
            before = time.process_time()
            try:
                return execute(sql, params, many, context)
            finally:
                shape_cpu[sql[:160]] += time.process_time() - before

        from bench.measure import postgres_pids, total_cpu_seconds

        timed = time_functions(options.time.split(",")) if options.time else {}

        if options.pg_statements:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_statements_reset()")
        profiler = cProfile.Profile(time.process_time) if options.cpu else cProfile.Profile()
        postgres_cpu = total_cpu_seconds(postgres_pids(work / "postgres" / "data"))
        started, cpu = time.monotonic(), time.process_time()
        with connection.execute_wrapper(count):
            if not options.no_profile:
                profiler.enable()
            if options.capture:
                capture_all()
            else:
                for start in range(0, len(ids), 25):
                    process_group(ids[start : start + 25])
            profiler.disable()
        wall, cpu = time.monotonic() - started, time.process_time() - cpu
        postgres_cpu = total_cpu_seconds(postgres_pids(work / "postgres" / "data")) - postgres_cpu
        n = len(mails) if options.capture else len(ids)
        outcomes = Counter(InboundMessage.objects.values_list("outcome", flat=True))
        print(
            f"{n} messages: wall {1000 * wall / n:.2f} ms/msg, CPU {1000 * cpu / n:.2f} ms/msg, "
            f"PostgreSQL CPU {1000 * postgres_cpu / n:.2f} ms/msg"
        )
        print("outcomes:", dict(outcomes))
        for name, timing in timed.items():
            print(f"  {name}: {timing.calls / n:.2f} calls/msg, CPU {1000 * timing.seconds / n:.3f} ms/msg")
        print("SQL per message:", {k: round(v / n, 2) for k, v in statements.most_common()})
        if options.sql:
            for shape, c in shapes.most_common(60):
                print(f"{c / n:6.2f}  CPU {1000 * shape_cpu[shape] / c:.3f} ms each  {shape}")
        if options.pg_statements:
            _print_pg_statements(connection, n)
        for where, c in callers.most_common(20):
            print(f"{c / n:6.2f}  {where}")
        if options.no_profile:
            return 0
        if options.dump:
            profiler.dump_stats(options.dump)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(options.sort).print_stats(options.top)
        print(out.getvalue())
    finally:
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print_pg_statements(connection: Any, n: int) -> None:
    """The statements PostgreSQL spent most time on (planning + executing, per processed message), from
    pg_stat_statements; the time of commits (the WAL flush) is in the COMMIT rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT calls, total_plan_time + total_exec_time, wal_records, wal_bytes, left(regexp_replace(query, "
            "'\\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY 2 DESC LIMIT 30"
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT sum(total_plan_time + total_exec_time), sum(calls), sum(calls) FILTER (WHERE query ~* "
            "'^(BEGIN|COMMIT|SAVEPOINT|RELEASE)'), sum(wal_bytes) FROM pg_stat_statements"
        )
        total, calls, utility, wal = cursor.fetchone()
    print(
        f"PostgreSQL planning + executing: {(total or 0.0) / n:.3f} ms/msg in {int(calls or 0) / n:.2f} statements/msg "
        f"({int(utility or 0) / n:.2f} of them BEGIN, COMMIT or savepoints), WAL {int(wal or 0) // n} B/msg; "
        "by statement (ms/msg, calls/msg, WAL B/msg):"
    )
    for calls, ms, _records, wal_bytes, query in rows:
        print(f"  {ms / n:6.3f} {calls / n:5.2f} {int(wal_bytes) // n:6d}  {query}")


@dataclass
class Timing:
    calls: int = 0
    seconds: float = 0.0  # CPU inside the outermost calls (a call inside another call of it is not counted twice)
    depth: int = 0


def time_functions(names: list[str]) -> dict[str, Timing]:
    """Wrap each ``module:function`` (or ``module:Class.method``, also a class or static method) in a Timing."""
    timed: dict[str, Timing] = {}
    for name in names:
        module_name, _, attribute = name.strip().partition(":")
        owner: Any = importlib.import_module(module_name)
        *path, leaf = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        found = inspect.getattr_static(owner, leaf)
        kind = type(found) if isinstance(found, classmethod | staticmethod) else None
        timing = timed[name] = Timing()
        wrapped = _timed(found.__func__ if kind else found, timing)
        setattr(owner, leaf, kind(wrapped) if kind else wrapped)
    return timed


def _timed(function: Any, timing: Timing) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timing.calls += 1
        if timing.depth:
            return function(*args, **kwargs)
        timing.depth += 1
        before = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            timing.seconds += time.process_time() - before
            timing.depth -= 1

    return wrapper


if __name__ == "__main__":
    raise SystemExit(main())
