"""``make run``'s runner: Ctrl-C stops the processes and ends with status 0 (issue 19: make printed "Error 130")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_and_interrupt(tmp_path: Path, procfile: str) -> tuple[int, str]:
    (tmp_path / "Procfile").write_text(procfile)
    runner = subprocess.Popen(
        [sys.executable, "-m", "jemh.devrun", "-f", str(tmp_path / "Procfile")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job is
    )
    assert runner.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while "started" not in seen and time.monotonic() < deadline:
        seen += runner.stdout.readline()
    assert "started" in seen, seen
    os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    out, _ = runner.communicate(timeout=30)
    return runner.returncode, seen + out


def test_ctrl_c_stops_the_processes_with_status_zero(tmp_path: Path) -> None:
    status, out = _run_and_interrupt(tmp_path, f"sleeper: {sys.executable} -c 'import time; time.sleep(60)'\n")
    assert status == 0, out
    assert "SIGINT received" in out and "stopped (Ctrl-C)" in out


def test_a_process_that_fails_on_its_own_keeps_its_status(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(f"broken: {sys.executable} -c 'raise SystemExit(3)'\n")
    done = subprocess.run(
        [sys.executable, "-m", "jemh.devrun", "-f", str(tmp_path / "Procfile")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0, done.stdout
