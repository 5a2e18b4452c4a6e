"""The embedded default database is SQLite (``make run`` without DATABASE_URL): the local tracker's hot-path
statements (the association look-up, fixed-shape inserts, ON CONFLICT, the metrics upsert) must run there too,
while the suite itself runs on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_tracker_works_on_the_embedded_sqlite_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DATABASE_URL", "JEMH_"))}
    env.update({"JEMH_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "jemh.settings", "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "tests.trackers.sqlite_check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout[-2000:] + done.stderr[-4000:]
