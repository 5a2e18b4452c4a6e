"""Held-out evaluation: issue 16's table measured on real mail that is not in ``../shared``, through
``jemh inspect --jsonl``, beside a naive standard-library parser.

The mail stays outside the project (``--data DIR``, default ``$JEMH_HELDOUT_DIR``): a directory of message files
and an ``expected.jsonl`` manifest, one object per file, giving only the values its source project asserts::

    {"file": "django-mailbox/generic_message.eml", "source": "django-mailbox 4.10.1 test_process_email.py",
     "subject": "...", "from_email": "...", "from_name": "...", "attachments": ["heart.png"],
     "bounce": true, "auto_reply": false, "reply_text": "...", "lost": false}

Every key but ``file`` is optional; a measure counts only the files that give its key. ``bounce``/``auto_reply``
false are the ordinary messages that must not be flagged; ``lost`` false says no content is lost, so ``error``
should stay null. Prints the table, writes ``bench/results/heldout.json``, and with ``--misses`` lists each miss.

    .venv/bin/python bench/heldout.py --data /tmp/heldout [--misses]

Never fit a rule to one file of this set: it is a proxy for mail the project has not seen.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHUNK = 50  # files per jemh inspect run


def inspect(files: list[Path]) -> list[dict[str, Any]]:
    """``jemh inspect --jsonl`` over ``files``, in order, a chunk at a time (progress on stderr)."""
    records: list[dict[str, Any]] = []
    for start in range(0, len(files), CHUNK):
        chunk = [str(f) for f in files[start : start + CHUNK]]
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "jemh", "inspect", "--jsonl", *chunk],
            capture_output=True,
            check=False,
            cwd=ROOT,
        )
        lines = [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]
        if len(lines) != len(chunk):
            raise SystemExit(f"jemh inspect gave {len(lines)} records for {len(chunk)} files: {out.stderr.decode()}")
        records.extend(lines)
        print(f"  inspected {len(records)}/{len(files)}", file=sys.stderr)
    return records


def naive(path: Path) -> dict[str, Any]:
    """What a naive stdlib parser makes of the file, in inspect's shape (the floor of the table)."""
    try:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        sender = message["From"]
        addresses = getattr(sender, "addresses", ()) if sender is not None else ()
        first = addresses[0] if addresses else None
        names = [part.get_filename() or "" for part in message.iter_attachments()]
        auto = str(message.get("Auto-Submitted", "no")).lower()
        return {
            "subject": str(message.get("Subject", "") or ""),
            "from": {"email": first.addr_spec, "name": first.display_name} if first else None,
            "attachments": [{"filename": n, "signature": False} for n in names],
            "classification": {
                "bounce": message.get_content_type() == "multipart/report"
                and message.get_param("report-type", "") == "delivery-status",
                "auto_reply": auto not in {"", "no"},
            },
            "reply_text": None,
            "error": None,
        }
    except Exception as exc:  # a naive parser may fail outright: every measure misses
        return {"subject": None, "from": None, "attachments": None, "classification": {}, "error": str(exc)}


Check = Callable[[dict[str, Any], dict[str, Any]], bool | None]  # None: not measured for this file


def _sender(field: str) -> Check:
    def check(expected: dict[str, Any], record: dict[str, Any]) -> bool | None:
        if f"from_{field}" not in expected:
            return None
        sender = record.get("from") or {}
        return (sender.get(field) or "") == expected[f"from_{field}"]

    return check


def _flag(flag: str, wanted: bool) -> Check:
    def check(expected: dict[str, Any], record: dict[str, Any]) -> bool | None:
        if expected.get(flag) is not wanted:
            return None
        return bool((record.get("classification") or {}).get(flag)) == wanted

    return check


def _attachments(expected: dict[str, Any], record: dict[str, Any]) -> bool | None:
    if "attachments" not in expected or record.get("attachments") is None:
        return None if "attachments" not in expected else False
    names = sorted(a["filename"] for a in record["attachments"] if not a.get("signature"))
    return names == sorted(expected["attachments"])


def _reply(expected: dict[str, Any], record: dict[str, Any]) -> bool | None:
    if "reply_text" not in expected:
        return None
    got = record.get("reply_text")
    return got is not None and got.strip() == expected["reply_text"].strip()


def _no_error(expected: dict[str, Any], record: dict[str, Any]) -> bool | None:
    return None if expected.get("lost", False) else record.get("error") is None


MEASURES: list[tuple[str, Check]] = [
    ("subject exact", lambda e, r: None if "subject" not in e else r.get("subject") == e["subject"]),
    ("sender address exact", _sender("email")),
    ("sender display name exact", _sender("name")),
    ("attachments: every declared name, nothing unexplained", _attachments),
    ("bounce recall", _flag("bounce", True)),
    ("auto-reply recall", _flag("auto_reply", True)),
    ("no false bounce flag (ordinary mail)", _flag("bounce", False)),
    ("no false auto-reply flag (ordinary mail)", _flag("auto_reply", False)),
    ("reply text exact", _reply),
    ("error null where nothing was lost", _no_error),
]


def score(rows: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for name, check in MEASURES:
        results = [(row["file"], check(row, record)) for row, record in zip(rows, records, strict=True)]
        measured = [(f, ok) for f, ok in results if ok is not None]
        table[name] = {
            "measured": len(measured),
            "correct": sum(1 for _, ok in measured if ok),
            "misses": [f for f, ok in measured if not ok],
        }
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("JEMH_HELDOUT_DIR", ""), help="the held-out directory")
    parser.add_argument("--misses", action="store_true", help="list the files each measure misses")
    options = parser.parse_args()
    if not options.data:
        parser.error("give --data DIR (or JEMH_HELDOUT_DIR): a directory with expected.jsonl and the message files")
    data = Path(options.data)
    manifest = data / "expected.jsonl"
    if not manifest.is_file():
        parser.error(f"{manifest} is missing: write one object per message file (see this script's docstring)")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    files = [data / row["file"] for row in rows]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        parser.error(f"files named in expected.jsonl are missing: {', '.join(missing[:5])}")
    print(f"held-out set: {len(rows)} files in {data}", file=sys.stderr)
    ours = score(rows, inspect(files))
    floor = score(rows, [naive(f) for f in files])
    width = max(len(name) for name, _ in MEASURES)
    print(f"{'measure (held-out)':<{width}}  {'naive stdlib':>12}  {'ours':>9}")
    for name, _ in MEASURES:
        mine, base = ours[name], floor[name]
        if not mine["measured"]:
            continue
        print(
            f"{name:<{width}}  {base['correct']:>5}/{base['measured']:<6}  {mine['correct']:>4}/{mine['measured']:<4}"
        )
    print(
        f"(ours: error set on {len(ours['error null where nothing was lost']['misses'])} files where nothing was lost)"
    )
    if options.misses:
        for name, _ in MEASURES:
            for missed in ours[name]["misses"]:
                print(f"  miss  {name}: {missed}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "heldout.json").write_text(json.dumps({"files": len(rows), "ours": ours, "naive": floor}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
