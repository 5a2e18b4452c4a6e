"""Measurements the benchmarks share: peak memory and CPU time of a process (from /proc), percentiles."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident set (VmHWM), in MB. ru_maxrss is only a fallback: after fork+exec it still
    reports the parent's peak."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0.0


def cpu_seconds(pid: int | str = "self", *, with_children: bool = False) -> float:
    """User + system CPU seconds a process has used (independent of other load); with its ended children's
    when asked (a PostgreSQL backend that exits is counted in the postmaster's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    used = fields[11:15] if with_children else fields[11:13]  # utime, stime[, cutime, cstime]
    return round(sum(int(value) for value in used) / os.sysconf("SC_CLK_TCK"), 2)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] if ordered else 0.0


def postgres_pids(data_dir: Path) -> list[int]:
    """A PostgreSQL cluster's postmaster and its children (backends, checkpointer, ...)."""
    try:
        master = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def total_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds the processes (and their ended children) have used so far."""
    return sum(cpu_seconds(pid, with_children=True) for pid in pids)
