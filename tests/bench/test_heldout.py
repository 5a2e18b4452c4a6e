"""The held-out evaluation (bench/heldout.py): each measure counts only the files whose manifest row gives it,
and the naive floor reads files with the standard library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.heldout import naive, score


def test_each_measure_counts_only_the_files_that_give_its_expectation() -> None:
    rows = [
        {"file": "a.eml", "subject": "Hi", "from_email": "a@x.org", "bounce": False, "attachments": ["r.pdf"]},
        {"file": "b.eml", "bounce": True, "lost": True},
    ]
    records: list[dict[str, Any]] = [
        {
            "subject": "Hi",
            "from": {"email": "a@x.org", "name": ""},
            "attachments": [{"filename": "r.pdf", "signature": False}, {"filename": "s.asc", "signature": True}],
            "classification": {"bounce": False},
            "error": None,
        },
        {"subject": "", "from": None, "attachments": [], "classification": {"bounce": False}, "error": "cut"},
    ]
    table = score(rows, records)
    assert table["subject exact"] == {"measured": 1, "correct": 1, "misses": []}
    assert table["sender display name exact"]["measured"] == 0
    assert table["attachments: every declared name, nothing unexplained"]["correct"] == 1  # signatures left out
    assert table["bounce recall"] == {"measured": 1, "correct": 0, "misses": ["b.eml"]}
    assert table["no false bounce flag (ordinary mail)"]["correct"] == 1
    assert table["error null where nothing was lost"] == {"measured": 1, "correct": 1, "misses": []}


def test_the_naive_floor_reads_a_file_with_the_standard_library(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(b"From: Ann <ann@x.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nbody\r\n")
    record = naive(path)
    assert record["subject"] == "Grüße" and record["from"] == {"email": "ann@x.org", "name": "Ann"}
