"""``jemh inspect``: JSON lines in input order, readable summary, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

from inbound.mime import cli

FIELDS = {
    "file",
    "error",
    "defects",
    "message_id",
    "subject",
    "normalized_subject",
    "from",
    "to",
    "cc",
    "reply_to",
    "date",
    "in_reply_to",
    "references",
    "body_text",
    "body_html",
    "reply_text",
    "attachments",
    "classification",
}


def run(*args: str, jsonl: bool = True) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run({"paths": list(args), "jsonl": jsonl}, out, err)
    return code, out.getvalue(), err.getvalue()


def test_jsonl_one_object_per_file_in_order(tmp_path: Path) -> None:
    first = tmp_path / "a.eml"
    first.write_bytes(b"From: A <a@example.com>\r\nSubject: one\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n")
    second = tmp_path / "b.eml"
    second.write_bytes(b"\xff\xfe garbage")
    code, out, _ = run(str(first), str(second))
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["file"] for r in records] == [str(first), str(second)]
    assert all(set(r) >= FIELDS for r in records)
    assert records[0]["from"] == {"name": "A", "email": "a@example.com"} and records[0]["message_id"] == "1@x"
    # issue 16: garbage with no header section loses nothing (it is all body): a defect, error stays null
    assert records[1]["defects"] == ["no header section"] and records[1]["error"] is None


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "missing.eml"))
    assert code != 0 and "cannot read" in err


def test_summary_for_people(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    path.write_bytes(b"From: a@example.com\r\nSubject: hi\r\nPrecedence: bulk\r\n\r\nbody\r\n")
    code, out, _ = run(str(path), jsonl=False)
    assert code == 0 and "subject:" in out and "bulk" in out


def test_defects_are_listed_and_error_stays_null_when_nothing_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "open.eml"
    path.write_bytes(
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain\r\n\r\nunterminated\r\n"
    )
    _, out, _ = run(str(path))
    record = json.loads(out)
    assert record["defects"] == ["missing final boundary"] and record["error"] is None
    _, text, _ = run(str(path), jsonl=False)
    assert "defects:    missing final boundary" in text and "error:" not in text
