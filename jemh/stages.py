"""Stage timing: the CPU and wall time a process spends in named stages of mail handling (capture, parse,
pipeline, tracker writes), for the benchmarks (bench/inbound.py reports it per message).

Off unless the environment variable ``JEMH_STAGE_TIMES`` names a folder; it is read once, at import. When off,
``stage()`` returns one shared no-op context manager and ``timed()`` returns the function it decorates
unchanged, so production pays nothing.

Time is exclusive: a stage inside another (tracker writes inside the pipeline) counts only in the inner one.
Each process writes its totals to ``<folder>/stages-<pid>.json`` when ``dump()`` is called (after each Celery
task, see jemh/celery.py, and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

FOLDER = os.environ.get("JEMH_STAGE_TIMES", "")
ENABLED = bool(FOLDER)

_OFF = contextlib.nullcontext()
# name -> [cpu seconds, wall seconds, calls]
_totals: dict[str, list[float]] = {}
# open stages, innermost last: [cpu at start, wall at start, cpu of inner stages, wall of inner stages]
_open: list[list[float]] = []


class _Stage:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        _open.append([time.process_time(), time.perf_counter(), 0.0, 0.0])

    def __exit__(self, *exc: object) -> None:
        cpu_start, wall_start, inner_cpu, inner_wall = _open.pop()
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
        total = _totals.setdefault(self.name, [0.0, 0.0, 0])
        total[0] += cpu - inner_cpu
        total[1] += wall - inner_wall
        total[2] += 1
        if _open:
            _open[-1][2] += cpu
            _open[-1][3] += wall


def stage(name: str) -> contextlib.AbstractContextManager[None]:
    """``with stage("parse"): ...`` adds the block's time to the stage ``name`` (when timing is on)."""
    return _Stage(name) if ENABLED else _OFF


def timed(name: str) -> Callable[[F], F]:
    """A decorator: every call of the function counts in the stage ``name`` (when timing is on; else the
    function itself is returned)."""

    def decorate(function: F) -> F:
        if not ENABLED:
            return function

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Stage(name):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def totals() -> dict[str, dict[str, float]]:
    """This process's totals so far: ``{stage: {"cpu_s", "wall_s", "calls"}}``."""
    return {
        name: {"cpu_s": round(cpu, 6), "wall_s": round(wall, 6), "calls": int(calls)}
        for name, (cpu, wall, calls) in _totals.items()
    }


def dump(*_args: Any, **_kwargs: Any) -> None:
    """Write this process's totals to ``<folder>/stages-<pid>.json`` (nothing when timing is off or nothing
    was timed). Takes and ignores any arguments, so it can be a signal receiver."""
    if not ENABLED or not _totals:
        return
    folder = Path(FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"stages-{os.getpid()}.json"
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps({"pid": os.getpid(), "stages": totals()}))
    partial.replace(target)  # a reader never sees half a file


if ENABLED:
    atexit.register(dump)
