"""``python manage.py jemh purge [--dry-run]``: run the retention purge now (beat runs it hourly)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

HELP = "Purge what the instances' retention settings say has gone (raw mail, audit rows, outbound, events, orphans)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only count what would go")
    parser.add_argument("--batch", type=int, default=500, help="rows or blobs per batch (default 500)")


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    from auditing.retention import purge

    dry_run = bool(options.get("dry_run"))
    batch = int(options.get("batch") or 500)

    def progress(text: str) -> None:
        err.write(text + "\n")

    report = purge(dry_run=dry_run, batch=batch, progress=progress)
    verb = "would remove" if dry_run else "removed"
    for name, counts in report.items():
        removed = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()) if n) or "nothing"
        out.write(f"{name}: {verb} {removed}\n")
    return 0
