"""Benchmark of inbound.mime against a bare stdlib parse, on the corpora and on hostile messages.

Run: .venv/bin/python bench/mime.py   (prints a table, writes bench/results/mime.json)
     .venv/bin/python bench/mime.py --hostile   (the hostile table only; writes nothing)
"""

from __future__ import annotations

import email
import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inbound.mime import parse  # noqa: E402
from notifications.markdown import markdown_to_html  # noqa: E402
from tests.mime import samples  # noqa: E402
from tests.mime.corpus import message_files  # noqa: E402

SHARED = Path(os.environ.get("JEMH_SHARED_DIR", ROOT.parent / "shared"))
MB = 1024 * 1024


def stdlib_parse(raw: bytes) -> None:
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        body = message.get_body()
        if body is not None:
            body.get_content()
        for attachment in message.iter_attachments():
            attachment.get_content()
    except Exception:
        return


def ours(raw: bytes) -> None:
    parse(raw)  # parse() classifies and extracts the reply too


def throughput(func: Callable[[bytes], None], messages: list[bytes], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for raw in messages:
            func(raw)
        best = min(best, time.perf_counter() - started)
    return len(messages) / best


def cost(func: Callable[[bytes], None], raw: bytes, runs: int = 5) -> dict[str, float]:
    """Time (median and best of ``runs``, each after a full collection) and, in a separate run, the
    tracemalloc peak (tracing slows code down, so it is never timed)."""
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        func(raw)
        times.append(time.perf_counter() - started)
    times.sort()
    gc.collect()
    tracemalloc.start()
    try:
        func(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {
        "seconds": round(times[len(times) // 2], 4),
        "best_seconds": round(times[0], 4),
        "peak_mb": round(peak / MB, 2),
    }


def render_markdown(raw: bytes) -> None:
    markdown_to_html(raw.decode())


def hostile_messages() -> dict[str, tuple[Callable[[bytes], None], bytes, dict[str, float]]]:
    """Each hostile class: what is run on it, the input, and its target."""
    structure = {"seconds": 0.05, "peak_mb": 20}
    linear = {"seconds": 0.25, "peak_mb": 50}  # issue 16: every hostile class under 250 ms and 50 MB
    return {
        "3000 nested parts": (ours, samples.nested_parts(3000), structure),
        "3000 sibling parts": (ours, samples.many_parts(3000), structure),
        "200 KB encoded-word Subject": (ours, samples.big_subject(200_000), structure),
        "4 MB header section": (ours, samples.huge_headers(4_000_000), structure),
        "94 KB of uuencode begin lines": (ours, samples.uu_begin_lines(94_000), linear),
        "300 KB of nested <div>": (ours, samples.nested_divs(300_000), linear),
        "2 MB of tiny TNEF objects": (ours, samples.tiny_tnef_objects(2_000_000), linear),
        "bounce with 97 KB of '!'": (ours, samples.bang_bounce(97_000), linear),
        "250 KB of stray-line header sections": (ours, samples.stray_header_lines(250_000), linear),
        "Markdown: 99,000 '['": (render_markdown, b"[" * 99_000, linear),
    }


def hostile_table(results: dict[str, Any]) -> None:
    """Time (median of 5) and peak memory of each hostile class, ours and (for messages) a bare stdlib parse."""
    results["hostile"] = {}
    for name, (func, raw, target) in hostile_messages().items():
        row: dict[str, Any] = {"ours": cost(func, raw), "target": target}
        if func is ours:
            row["stdlib"] = cost(stdlib_parse, raw)
        results["hostile"][name] = row
    print(f"\n{'hostile message (median of 5)':32} {'ours s':>9} {'ours MB':>9} {'stdlib s':>9} {'stdlib MB':>10}")
    for name, row in results["hostile"].items():
        stdlib = row.get("stdlib", {"seconds": "-", "peak_mb": "-"})
        print(
            f"{name:32} {row['ours']['seconds']:>9} {row['ours']['peak_mb']:>9} "
            f"{stdlib['seconds']:>9} {stdlib['peak_mb']:>10}"
        )


def main() -> int:
    if "--hostile" in sys.argv[1:]:
        hostile_table({})
        return 0
    files = message_files(SHARED / "corpora")
    messages = [p.read_bytes() for p in files]
    results: dict[str, Any] = {"corpus_messages": len(messages)}
    floor = throughput(stdlib_parse, messages)
    mine = throughput(ours, messages)
    results["throughput"] = {
        "stdlib_msgs_per_s": round(floor),
        "ours_msgs_per_s": round(mine),
        "ratio": round(mine / floor, 3),
        "target_ratio": 0.4,
    }
    print(f"corpus: {len(messages)} messages")
    print(f"{'throughput':32} {'stdlib':>12} {'ours':>12} {'ratio':>8}")
    t = results["throughput"]
    print(f"{'messages/second':32} {t['stdlib_msgs_per_s']:>12} {t['ours_msgs_per_s']:>12} {t['ratio']:>8}")
    hostile_table(results)
    size = 25 * MB
    raw = samples.big_attachment(size)
    big = cost(ours, raw, runs=1)
    results["attachment_25mb"] = {**big, "peak_ratio_to_size": round(big["peak_mb"] * MB / size, 2), "target": 4}
    a = results["attachment_25mb"]
    print(f"\n25 MB attachment: {a['seconds']} s, peak {a['peak_mb']} MB = {a['peak_ratio_to_size']}x its size")
    out = ROOT / "bench" / "results" / "mime.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
