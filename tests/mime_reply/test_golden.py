"""Golden conformance over the reply corpora and zulip's subject pairs (see golden_support)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbound.mime.reply import extract_reply
from inbound.mime.subject import normalize_subject
from tests.conftest import SHARED
from tests.mime_reply.conftest import RESULTS
from tests.mime_reply.golden_support import RECORD, all_cases, read_expected, write_expected

CORPORA = SHARED / "corpora"
CASES = all_cases(CORPORA) if CORPORA.is_dir() else []


@pytest.mark.parametrize("case", CASES, ids=[f"{c.corpus}/{c.name}" for c in CASES])
def test_golden_reply(case, shared_dir: Path) -> None:
    text, html = case.inputs(shared_dir / "corpora")
    actual = extract_reply(text, html).rstrip("\n")
    if RECORD:
        write_expected(case, actual)
    expected = read_expected(case)
    assert expected is not None, f"no expected file {case.expected_path}; record with JEMH_RECORD_GOLDEN=1"
    RESULTS[case.corpus].append(actual == expected[1])
    assert actual == expected[1]


def test_every_expected_file_has_a_case(shared_dir: Path) -> None:
    """An expected file whose input disappeared from the corpora is stale."""
    known = {case.expected_path for case in all_cases(shared_dir / "corpora")}
    golden = Path(__file__).resolve().parent / "golden"
    stale = [p for p in golden.rglob("*.txt") if p not in known]
    assert not stale


def _subject_pairs(shared: Path) -> list[dict[str, str]]:
    path = shared / "corpora" / "zulip" / "zerver" / "tests" / "fixtures" / "email" / "subjects.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_zulip_subjects(shared_dir: Path) -> None:
    pairs = _subject_pairs(shared_dir)
    assert len(pairs) == 23
    outcomes = [normalize_subject(p["original_subject"]) == p["stripped_subject"] for p in pairs]
    RESULTS["zulip subjects.json"].extend(outcomes)
    failures = [p for p, ok in zip(pairs, outcomes, strict=True) if not ok]
    assert not failures
