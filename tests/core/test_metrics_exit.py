"""A process that exits with counts its database can no longer take says nothing: pytest's teardown showed
"--- Logging error ---" from the exit flush writing to an already closed stream."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging, sys
import django
django.setup()
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
from jemh import metrics
metrics.count("messages_captured", source="x")
metrics.flush()  # while running: the failure is said, and the counts are kept for the next try
print("pending", len(metrics.pending()), flush=True)
"""


def test_the_exit_flush_is_silent_when_the_database_is_gone(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jemh.settings",
        "DATABASE_URL": "postgres://nobody:x@127.0.0.1:1/none?connect_timeout=1",
        "JEMH_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "pending 1" in done.stdout
    assert done.stderr.count("metrics not written") == 1, done.stderr  # once, from the flush while running
    assert "flushing metrics failed" not in done.stderr and "Logging error" not in done.stderr, done.stderr
