"""``python manage.py jemh inspect [--jsonl] PATH...``: what the parser understands of message files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from inbound.mime.model import ParsedMessage
from inbound.mime.parse import parse

HELP = "parse message files and show what was understood (one JSON object per file with --jsonl)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="raw message files (.eml, mbox-style)")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object per line, in input order")


def inspect_record(path: str, message: ParsedMessage) -> dict[str, Any]:
    return {"file": path, **message.to_dict()}


def _summary(record: dict[str, Any]) -> str:
    sender = record["from"]
    who = f"{sender['name']} <{sender['email']}>" if sender else "(none)"
    verdict = record["classification"]
    flags = [k for k in ("auto_reply", "bounce", "bulk", "list", "spam", "loop") if verdict[k]]
    lines = [
        f"== {record['file']}",
        f"   subject:    {record['subject']!r}  (normalized {record['normalized_subject']!r})",
        f"   from:       {who}",
        f"   to:         {', '.join(a['email'] for a in record['to']) or '(none)'}",
        f"   date:       {record['date'] or '(none)'}",
        f"   message-id: {record['message_id'] or '(none)'}",
        f"   flags:      {', '.join(flags) or 'none'}",
    ]
    if verdict["bounced_recipients"]:
        lines.append(f"   bounced:    {', '.join(verdict['bounced_recipients'])}")
    lines += [f"     reason: {reason}" for reason in verdict["reasons"]]
    for attachment in record["attachments"]:
        lines.append(
            f"   attachment: {attachment['filename']} ({attachment['content_type']}, {attachment['size']} bytes"
            f"{', inline' if attachment['inline'] else ''})"
        )
    reply = record["reply_text"].strip().replace("\n", "\n               ")
    lines.append(f"   reply:      {reply[:600] or '(empty)'}")
    if record["defects"]:
        lines.append(f"   defects:    {'; '.join(record['defects'])}")
    if record["error"]:
        lines.append(f"   error:      {record['error']}")
    return "\n".join(lines) + "\n"


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    status = 0
    for path in options["paths"]:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            err.write(f"jemh inspect: cannot read {path}: {exc.strerror or exc}\n")
            status = 2
            continue
        record = inspect_record(path, parse(raw))
        if options.get("jsonl"):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(_summary(record))
    return status
