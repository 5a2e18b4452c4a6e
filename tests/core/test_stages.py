"""Stage timing (jemh/stages.py): free when off; exclusive CPU and wall totals per stage when on."""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import jemh.stages


@pytest.fixture
def stages_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("JEMH_STAGE_TIMES", str(tmp_path / "stages"))
    module = importlib.reload(jemh.stages)
    yield module
    monkeypatch.delenv("JEMH_STAGE_TIMES")
    importlib.reload(jemh.stages)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_off_costs_nothing_the_decorator_returns_the_function_and_stage_a_shared_no_op() -> None:
    assert not jemh.stages.ENABLED  # the suite runs without JEMH_STAGE_TIMES

    def work() -> int:
        return 1

    assert jemh.stages.timed("tracker writes")(work) is work
    assert jemh.stages.stage("parse") is jemh.stages.stage("pipeline")
    with jemh.stages.stage("parse"):
        pass
    assert jemh.stages.totals() == {}


def test_an_inner_stage_is_counted_only_in_itself(stages_on: ModuleType) -> None:
    @stages_on.timed("tracker writes")
    def write() -> str:
        _spin(0.05)
        return "written"

    with stages_on.stage("pipeline"):
        _spin(0.02)
        assert write() == "written"
        assert write() == "written"
    totals = stages_on.totals()
    assert totals["tracker writes"]["calls"] == 2
    assert totals["pipeline"]["calls"] == 1
    assert totals["tracker writes"]["cpu_s"] >= 0.1
    assert 0.02 <= totals["pipeline"]["cpu_s"] < 0.06  # its own 20 ms, not the writes' 100 ms
    assert totals["pipeline"]["wall_s"] < totals["tracker writes"]["wall_s"]


def test_a_stage_left_by_an_exception_still_counts(stages_on: ModuleType) -> None:
    with pytest.raises(ValueError), stages_on.stage("parse"):
        raise ValueError("malformed")
    assert stages_on.totals()["parse"]["calls"] == 1


def test_dump_writes_this_processs_totals_to_a_file_named_by_its_pid(stages_on: ModuleType) -> None:
    stages_on.dump()  # nothing timed yet: no file
    folder = Path(stages_on.FOLDER)
    assert not folder.exists() or not list(folder.iterdir())
    with stages_on.stage("capture"):
        pass
    stages_on.dump("any", signal="arguments")
    written = json.loads((folder / f"stages-{os.getpid()}.json").read_text())
    assert written["pid"] == os.getpid()
    assert written["stages"]["capture"]["calls"] == 1
