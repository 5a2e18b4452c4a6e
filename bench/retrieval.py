"""Retrieval benchmark: capture throughput against a floor, and the capturing process's peak memory.

    .venv/bin/python bench/retrieval.py [--messages 2000] [--no-hostile]

Starts its own PostgreSQL and Dovecot (tests/services starters), loads N varied real messages from
../shared/corpora (each given a unique Message-ID) plus a few pathological ones into one mailbox with
MULTIAPPEND, then, each in a fresh process:

* floor: imapclient fetch (BODY.PEEK[]) in batches + the bare stdlib parse as the message-understanding issue
  defines it (message_from_bytes with policy.default + get_body + iter_attachments), nothing stored;
* light floor, for comparison only: the same fetch + a lazy compat32 parse reading three headers;
* capture: ``inbound.retrieval.poll`` on PostgreSQL with raw storage on (encrypted blobs on the filesystem).

Reports messages/second for both, the ratio (target: capture >= 75% of the floor) and the capturing
process's peak RSS (target: < 150 MB). Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.services.dovecot import Dovecot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import peak_rss_mb  # noqa: E402

SHARED = Path(os.environ.get("JEMH_SHARED_DIR", ROOT.parent / "shared"))
RESULTS = ROOT / "bench" / "results" / "retrieval.json"
USER, PASSWORD = "bench@example.test", "benchpw"
FLOOR_BATCH = 50
TARGET_RATIO, TARGET_RSS_MB = 0.75, 150
_MESSAGE_ID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


def corpus_messages() -> list[bytes]:
    """Files of the shared corpora that look like mail (a header section first)."""
    found = []
    for path in sorted((SHARED / "corpora").rglob("*")):
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        head = data[:4000]
        if (
            re.match(rb"(?i)(from |[a-z-]+:)", head)
            and re.search(rb"(?im)^(from|subject|to|date):", head)
            and re.search(rb"\r?\n\r?\n", head)
        ):
            found.append(data)
    if not found:
        raise SystemExit(f"no mail found under {SHARED / 'corpora'}; set JEMH_SHARED_DIR")
    return found


def hostile_messages() -> list[bytes]:
    """Pathological mail: huge attachment, one endless line, header flood, deep nesting, over the limit."""
    head = b"From: x@example.test\r\nTo: support@example.test\r\nSubject: %s\r\n"
    big_b64 = b"\r\n".join([b"QUJD" * 19] * (20 * 1024 * 1024 // 78))
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(1000))
    return [
        head % b"20 MB attachment" + b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + big_b64
        + b"\r\n--z--\r\n",
        head % b"one 24 MB line" + b"\r\n" + b"a" * (24 * 1024 * 1024) + b"\r\n",
        head % b"header flood" + b"X-Flood: y\r\n" * 50_000 + b"\r\nbody\r\n",
        head % b"deep nesting" + nested + b"end\r\n",
        head % b"over the limit" + b"\r\n" + (b"o" * 998 + b"\r\n") * (30 * 1024),
    ]


def with_message_id(raw: bytes, number: int) -> bytes:
    raw = _MESSAGE_ID.sub(b"", raw, count=5)
    return b"Message-ID: <bench-%d@bench.example.test>\r\n" % number + raw


def load_mailbox(dovecot: Dovecot, messages: list[bytes]) -> None:
    from imapclient import IMAPClient

    deadline = time.monotonic() + 30
    while True:
        try:
            client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=120)
            client.login(USER, PASSWORD)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with client:
        for start in range(0, len(messages), 100):
            client.multiappend("INBOX", messages[start : start + 100])
            print(f"  loaded {min(start + 100, len(messages))}/{len(messages)}", end="\r", flush=True)
    print()


def _parse_fully(raw: bytes) -> None:
    """The bare stdlib parse as the message-understanding issue defines it: message_from_bytes + get_body +
    iter_attachments (policy.default), reading what a mail handler needs."""
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    _ = message["subject"], message["from"], message["message-id"]
    body = message.get_body(("plain", "html"))
    if body is not None:
        body.get_content()
    for part in message.iter_attachments():
        part.get_content()


def _parse_headers(raw: bytes) -> None:
    """A lighter floor: compat32 (lazy) parse and three headers."""
    from email import message_from_bytes

    message = message_from_bytes(raw)
    _ = message["subject"], message["from"], message["message-id"]


def floor(host: str, port: int, headers_only: bool = False) -> dict[str, Any]:
    """imapclient fetch in batches + stdlib parse; nothing stored. Pathological mail that breaks the stdlib
    (recursion, bad encodings) is counted, not fatal."""
    from imapclient import IMAPClient

    parse_one = _parse_headers if headers_only else _parse_fully
    started = time.perf_counter()
    count = broken = 0
    with IMAPClient(host, port=port, ssl=False, timeout=120) as client:
        client.login(USER, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), FLOOR_BATCH):
            data = client.fetch(uids[start : start + FLOOR_BATCH], [b"BODY.PEEK[]"])
            for item in data.values():
                try:
                    parse_one(item[b"BODY[]"])
                except Exception:  # the stdlib gives up on some real mail (RecursionError...); the floor goes on
                    broken += 1
                count += 1
            del data
    seconds = time.perf_counter() - started
    return {
        "messages": count,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "stdlib_failures": broken,
        "parse": "compat32 + 3 headers" if headers_only else "policy.default + get_body + iter_attachments",
    }


def capture(host: str, port: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    import django

    django.setup()
    from inbound.models import InboundMessage, Security, Source, SourceKind
    from inbound.retrieval import poll
    from jemh.models import Instance

    instance = Instance.objects.create(name="Bench")
    source = Source.objects.create(
        instance=instance,
        name="bench",
        kind=SourceKind.IMAP,
        host=host,
        port=port,
        security=Security.NONE,
        username=USER,
        password=PASSWORD,
        batch_limit=10000,
    )
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    result = poll(source, force=True)
    seconds = time.perf_counter() - started
    if result.status != "ok":
        raise SystemExit(f"capture failed: {result.detail}")
    return {
        "messages": InboundMessage.objects.count(),
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_django_setup_mb": rss_before,
        "rejected_too_large": result.rejected_too_large,
        "duplicates": result.duplicates,
    }


def child(mode: str, env: dict[str, str], host: str, port: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}", host, str(port)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--no-hostile", action="store_true", help="leave out the pathological messages")
    parser.add_argument("--floor", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--capture", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--floor-headers", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.floor or options.capture or options.floor_headers:
        if options.floor:
            print(json.dumps(floor(options.floor[0], int(options.floor[1]))))
        elif options.floor_headers:
            print(json.dumps(floor(options.floor_headers[0], int(options.floor_headers[1]), headers_only=True)))
        else:
            print(json.dumps(capture(options.capture[0], int(options.capture[1]))))
        return

    import psycopg

    from tests.services.dovecot import start_dovecot
    from tests.services.postgres import start_postgres

    work = Path(tempfile.mkdtemp(prefix="jemh-bench-"))
    work.chmod(0o755)
    postgres = dovecot = None
    try:
        print("starting PostgreSQL and Dovecot ...")
        postgres = start_postgres(work / "postgres")
        dovecot = start_dovecot(work / "dovecot")
        dovecot.add_user(USER, PASSWORD)
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE jemh_bench")
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/jemh_bench",
            "JEMH_VAR_DIR": str(work / "var"),
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "LOG_LEVEL": "WARNING",
        }
        for key in [k for k in env if k.startswith("JEMH_S3_")]:
            env.pop(key)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        corpus = corpus_messages()
        messages = [with_message_id(corpus[i % len(corpus)], i) for i in range(options.messages)]
        hostile = [] if options.no_hostile else hostile_messages()
        print(
            f"loading {len(messages)} messages ({len(corpus)} distinct corpus files) + {len(hostile)} "
            "pathological ones ..."
        )
        load_mailbox(dovecot, messages + [with_message_id(m, -i - 1) for i, m in enumerate(hostile)])
        del messages, corpus, hostile
        host, port = dovecot.host, dovecot.imap_port
        print("floor: fetch + stdlib parse ...")
        floor_run = child("floor", env, host, port)
        print("light floor: fetch + compat32 headers only (for comparison) ...")
        light_run = child("floor-headers", env, host, port)
        print("capture: poll on PostgreSQL, raw storage on ...")
        capture_run = child("capture", env, host, port)
    finally:
        if dovecot:
            dovecot.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)

    floor_rate = floor_run["messages"] / floor_run["seconds"]
    capture_rate = capture_run["messages"] / capture_run["seconds"]
    ratio = capture_rate / floor_rate
    report = {
        "floor": {**floor_run, "messages_per_second": round(floor_rate, 1)},
        "light_floor": {**light_run, "messages_per_second": round(light_run["messages"] / light_run["seconds"], 1)},
        "ratio_to_light_floor": round(capture_rate / (light_run["messages"] / light_run["seconds"]), 3),
        "capture": {**capture_run, "messages_per_second": round(capture_rate, 1)},
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_peak_rss_mb": TARGET_RSS_MB,
        "meets_ratio": ratio >= TARGET_RATIO,
        "meets_memory": capture_run["peak_rss_mb"] < TARGET_RSS_MB,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'run':<10}{'messages':>10}{'seconds':>10}{'msg/s':>10}{'peak RSS MB':>14}")
    for name, run in (("floor", report["floor"]), ("light", report["light_floor"]), ("capture", report["capture"])):
        print(
            f"{name:<10}{run['messages']:>10}{run['seconds']:>10.2f}{run['messages_per_second']:>10.1f}"
            f"{run['peak_rss_mb']:>14.1f}"
        )
    print(
        f"\ncapture / floor = {ratio:.0%} (target >= {TARGET_RATIO:.0%}); capture peak RSS "
        f"{capture_run['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB)"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
