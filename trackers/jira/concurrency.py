"""CallSlots: at most N requests in flight to one Jira site, counted across every thread and worker process.

Each call takes one of the instance's N slots for as long as its HTTP request is on the wire (not while it sleeps
out a ``Retry-After``). Within a process, a semaphore hands out slot numbers; across processes, holding slot ``i``
means holding a lock that no other process can take at the same time:

* on PostgreSQL, the session-level advisory lock ``(LOCK_SPACE + instance id, i)`` on a connection of the process
  (its own, outside Django's transactions; taken with ``pg_try_advisory_lock``, so a dead process's slots free
  themselves when its connection ends);
* elsewhere (the embedded SQLite default, one machine), an exclusive ``flock`` on the file
  ``<var>/locks/jira-<instance>-<i>.lock`` (freed by the kernel when the process dies).

A call that finds no free slot polls again after a few (jittered) milliseconds; one that waits longer than
``max_wait`` raises :class:`JiraTemporaryError`, so a worker never waits long holding a message.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from trackers.jira.errors import JiraTemporaryError

LOCK_SPACE = 0x4A1A0000  # advisory lock keys (first half: this + instance id) of Jira call slots


class _PostgresLocks:
    """Advisory locks on one connection of this process (used by one thread at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._db: Any = None

    def _connection(self) -> Any:
        if self._db is None or self._pid != os.getpid():  # a forked pool process makes its own connection
            self._db = connections.create_connection(DEFAULT_DB_ALIAS)
            self._db.inc_thread_sharing()
            self._pid = os.getpid()
        return self._db

    def _value(self, sql: str, params: list[Any]) -> Any:
        with self._lock:
            try:
                with self._connection().cursor() as cursor:
                    cursor.execute(sql, params)
                    row = cursor.fetchone()
                return row[0] if row else None
            except Exception:
                if self._db is not None:  # a broken connection: its locks are gone with it; start afresh
                    try:
                        self._db.close()
                    finally:
                        self._db = None
                raise

    def _execute(self, sql: str, params: list[int]) -> bool:
        return bool(self._value(sql, params))

    def close(self) -> None:
        """Close the connection (every slot of this process is released with it)."""
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None

    def take(self, space: int, candidates: list[int]) -> int | None:
        """The first of ``candidates`` whose lock was free, now held; None: all busy. One round trip (the function
        of migration trackers 0005), where trying them one by one cost one each while the other process held most."""
        if not candidates:
            return None
        slot = self._value("SELECT jemh_take_call_slot(%s, %s::integer[])", [space, candidates])
        return None if slot is None else int(slot)

    def try_lock(self, space: int, slot: int) -> bool:
        return self._execute("SELECT pg_try_advisory_lock(%s, %s)", [space, slot])

    def unlock(self, space: int, slot: int) -> None:
        self._execute("SELECT pg_advisory_unlock(%s, %s)", [space, slot])


class _FileLocks:
    """``flock`` on one file per slot (one machine: the embedded default)."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _path(space: int, slot: int) -> Path:
        folder = Path(settings.VAR_DIR) / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"jira-{space - LOCK_SPACE}-{slot}.lock"

    def try_lock(self, space: int, slot: int) -> bool:
        fd = os.open(self._path(space, slot), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        with self._lock:
            self._held[(space, slot)] = fd
        return True

    def take(self, space: int, candidates: list[int]) -> int | None:
        """The first of ``candidates`` whose lock was free, now held; None: all busy."""
        return next((slot for slot in candidates if self.try_lock(space, slot)), None)

    def unlock(self, space: int, slot: int) -> None:
        with self._lock:
            fd = self._held.pop((space, slot), None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor of the open file releases its flock


_postgres = _PostgresLocks()
_files = _FileLocks()
# slot numbers held by this process, by lock space: a session's advisory locks stack, so two threads (or two
# CallSlots of one instance) of a process must never try the same slot
_held: dict[int, set[int]] = {}
_held_lock = threading.Lock()


def close_connection() -> None:
    """Close this process's slot connection (tests, before their database is dropped; a worker that stops)."""
    _postgres.close()


def _locks() -> _PostgresLocks | _FileLocks:
    return _postgres if connections[DEFAULT_DB_ALIAS].vendor == "postgresql" else _files


class CallSlots:
    """The ``size`` call slots of one instance (see the module docstring). Thread-safe; one per client."""

    #: how long a call may wait for a free slot before it gives up (the message is retried later)
    max_wait = 10.0

    def __init__(self, instance_id: int, size: int) -> None:
        self.instance_id = instance_id
        self.size = max(1, size)
        self.space = LOCK_SPACE + instance_id
        self._free = threading.BoundedSemaphore(self.size)
        self._lock = _held_lock
        self._mine = _held.setdefault(self.space, set())  # this process's held slots (shared by its CallSlots)
        #: the most calls this process had in flight at once (for the benchmark's report)
        self.peak = 0

    def _take(self, locks: _PostgresLocks | _FileLocks) -> int | None:
        # The process's held slots are read and the take made under one lock: another thread of this process
        # must never try a slot meanwhile (a session's advisory locks stack: it would "take" a slot held here).
        with self._lock:
            candidates = [n for n in range(self.size) if n not in self._mine]
            random.shuffle(candidates)  # processes start at different slots: fewer collisions
            slot = locks.take(self.space, candidates)
            if slot is not None:
                self._mine.add(slot)
                self.peak = max(self.peak, len(self._mine))
            return slot

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one slot for the duration of the ``with`` block."""
        deadline = time.monotonic() + self.max_wait
        if not self._free.acquire(timeout=self.max_wait):
            raise self._busy()
        try:
            locks = _locks()
            pause = 0.005
            while True:
                try:
                    taken = self._take(locks)
                except Exception as exc:
                    raise JiraTemporaryError(
                        f"could not take a Jira call slot ({type(exc).__name__}: the database is unavailable)",
                        retry_after=None,
                    ) from exc
                if taken is not None:
                    break
                if time.monotonic() > deadline:
                    raise self._busy()
                time.sleep(pause * random.uniform(0.5, 1.5))
                pause = min(pause * 2, 0.04)  # one round trip a try: a slot freed is found soon
            try:
                yield taken
            finally:
                try:
                    locks.unlock(self.space, taken)
                finally:
                    with self._lock:
                        self._mine.discard(taken)
        finally:
            self._free.release()

    def _busy(self) -> JiraTemporaryError:
        return JiraTemporaryError(
            f"all {self.size} Jira call slots of this instance stayed busy for {self.max_wait:.0f} s; "
            "the message is retried shortly (raise the instance's 'Jira calls in flight at most' if this persists)",
            retry_after=random.uniform(1.0, 3.0),
            throttled=True,
        )
