"""Values read from the database, reused within one process while they are provably current enough.

Each cache bounds staleness twice: an entry is reused only while it is younger than ``seconds`` (the bound for a
change made by another process, or by an UPDATE that sends no signal) and, when the caller gives a version (such
as a row's ``updated_at``), only while that version is unchanged. The owner connects :meth:`ProcessCache.clear` to
the save and delete signals of the models its values are made of, so a change made in this process is seen at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_UNVERSIONED = object()


class ProcessCache(Generic[K, V]):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[Any, float, V]] = {}

    def get(self, key: K, load: Callable[[K], V], version: Any = _UNVERSIONED) -> V:
        """The cached value of ``key`` while current, else ``load(key)`` (kept for next time)."""
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached[0] == version and now - cached[1] < self.seconds:
            return cached[2]
        value = load(key)
        with self._lock:
            self._entries[key] = (version, now, value)
        return value

    def clear(self, **signal_kwargs: Any) -> None:
        """Forget every entry (also usable as a signal receiver)."""
        with self._lock:
            self._entries.clear()
