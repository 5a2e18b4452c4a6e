"""Claims that follow their worker: which worker process holds a captured message, and when another may take it.

A claim ("processing") records its holder, a worker identity (host, pid and a nonce drawn when the process first
claims: a reused pid is another identity). Every Celery worker process beats a heartbeat row every few seconds from
a thread. A claim is taken over at once when its holder is gone: its heartbeat is stale, or the task was redelivered
by the broker (the process that had it died). A holder that never beat (a shell, inline processing, a test) keeps
its claim until it is ``STALE_CLAIM`` old, as before heartbeats.

Processing commits each message's outcome as soon as it is done, in a fixed order (fewest overruns, then oldest);
so when a holder dies, the first of its messages still claimed, in that order, is the one it had in hand: that
message's ``overruns`` is counted, and a message in hand at two deaths (or time-budget overruns) ends in error.
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus, WorkerHeartbeat

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)  # a claim of a holder without heartbeat untouched this long was abandoned
CLAIMABLE = (InboundStatus.RECEIVED, InboundStatus.FAILED)

_identity: tuple[int, str] | None = None
_heartbeat: tuple[int, threading.Event] | None = None
_in_worker = False  # set in a Celery worker's main process (inherited by its pool processes)


def worker_identity() -> str:
    """This process's identity as a claim holder: ``host:pid:nonce`` (a fresh nonce after a fork)."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()[:80]}:{pid}:{secrets.token_hex(4)}")
    return _identity[1]


def heartbeat_interval() -> float:
    return float(getattr(settings, "JEMH_WORKER_HEARTBEAT_SECONDS", 10))


def heartbeat_staleness() -> timedelta:
    return timedelta(seconds=getattr(settings, "JEMH_WORKER_STALE_SECONDS", 30))


def beat(now: datetime | None = None) -> None:
    """Record that this worker process is alive."""

    now = now or timezone.now()
    me = worker_identity()
    if not WorkerHeartbeat.objects.filter(pk=me).update(beat_at=now):
        WorkerHeartbeat.objects.update_or_create(worker=me, defaults={"beat_at": now, "started_at": now})


def _beat_forever(stop: threading.Event) -> None:
    from django.db import connection as thread_connection  # this thread's own connection

    while not stop.wait(heartbeat_interval()):
        _kill_if_overdue()
        try:
            beat()
        except Exception as exc:  # the database is away: beat again next time
            log.warning("worker heartbeat failed: %s", type(exc).__name__)
            thread_connection.close()


def mark_worker() -> None:
    """Called in a Celery worker's main process: its processes beat once they claim."""
    global _in_worker
    _in_worker = True


_heartbeat_lock = threading.Lock()


def ensure_heartbeat() -> None:
    """In a worker process, beat now and keep beating from a thread (started once per process)."""
    global _heartbeat
    if not _in_worker or (_heartbeat is not None and _heartbeat[0] == os.getpid()):
        return
    with _heartbeat_lock:  # a threads pool: its first tasks claim at the same time
        if _heartbeat is not None and _heartbeat[0] == os.getpid():
            return
        beat()
        stop = threading.Event()
        threading.Thread(target=_beat_forever, args=(stop,), name="jemh-heartbeat", daemon=True).start()
        _heartbeat = (os.getpid(), stop)


def stop_heartbeat() -> None:
    """The worker stops (warm shutdown): stop beating; this process holds no claims any more."""
    global _heartbeat, _in_worker
    _in_worker = False
    if _heartbeat is not None and _heartbeat[0] == os.getpid():
        _heartbeat[1].set()
    _heartbeat = None


# -- the time budget of the message in hand ----------------------------------------------------------------------

_in_hand_since: float | None = None
# a worker with a threads pool (Jira-bound processing, see README): thread id → [since, soft limit already raised]
_in_hand_threads: dict[int, list[Any]] = {}
_threads_lock = threading.Lock()


def budget_seconds() -> tuple[int, int]:
    """(soft, hard): past soft seconds on one message, SoftTimeLimitExceeded is raised in the processing; past
    hard seconds (it did not stop), the worker process kills itself and the message is taken over."""
    return (
        int(getattr(settings, "JEMH_PROCESSING_SOFT_LIMIT", 120)),
        int(getattr(settings, "JEMH_PROCESSING_HARD_LIMIT", 150)),
    )


@contextmanager
def message_budget() -> Iterator[None]:
    """Enforce the message time budget around processing one message, in a worker process's main thread (elsewhere
    — a shell, inline processing — nothing is enforced). The soft limit is a SIGALRM timer raising Celery's
    SoftTimeLimitExceeded; the hard limit is watched by the heartbeat thread (``_kill_if_overdue``). Celery's own
    task limits stay on the tasks as a backstop for the whole group."""
    global _in_hand_since
    soft, _hard = budget_seconds()
    if not _in_worker or soft <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _in_thread_budget():
            yield
        return

    def expired(signum: int, frame: object) -> None:
        raise SoftTimeLimitExceeded(f"the message's time budget of {soft} s ran out")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, soft)
    _in_hand_since = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _in_hand_since = None


@contextmanager
def _in_thread_budget() -> Iterator[None]:
    """The budget of a message processed in a pool thread (no SIGALRM there): the heartbeat thread raises
    SoftTimeLimitExceeded in it past the soft limit (at its next Python instruction: a blocking call ends first,
    and every Jira call has a timeout), and ends the process past the hard limit, as for the main thread."""
    ident = threading.get_ident()
    with _threads_lock:
        _in_hand_threads[ident] = [time.monotonic(), False]
    try:
        yield
    finally:
        with _threads_lock:
            _in_hand_threads.pop(ident, None)


def _raise_in(ident: int, exception: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exception))


def _kill_if_overdue() -> None:
    since, (soft, hard) = _in_hand_since, budget_seconds()
    now = time.monotonic()
    with _threads_lock:
        for ident, held in _in_hand_threads.items():
            if not held[1] and soft > 0 and now - held[0] > soft:
                held[1] = True
                log.warning("a message is in hand in a pool thread for more than %s s: interrupting it", soft)
                _raise_in(ident, SoftTimeLimitExceeded)
        overdue = [held[0] for held in _in_hand_threads.values()]
    if since is not None:
        overdue.append(since)
    if hard > 0 and any(now - start > hard for start in overdue):
        log.error("a message is in hand for more than %s s and did not stop: this worker process ends", hard)
        os.kill(os.getpid(), signal.SIGKILL)


def dead_holders(holders: set[str], now: datetime) -> tuple[set[str], set[str]]:
    """Of the given holders: (those whose heartbeat is stale, those that never beat)."""

    beats = dict(WorkerHeartbeat.objects.filter(worker__in=holders).values_list("worker", "beat_at"))
    stale = {h for h, at in beats.items() if at < now - heartbeat_staleness()}
    return stale, holders - set(beats)


def claim(inbound_ids: Sequence[int], *, redelivered: bool = False) -> list[int]:
    """Claim for this worker process the given messages that wait (received, failed; never those of an instance
    whose processing is paused, see ``pause``) or whose claim's holder is gone (``redelivered``: the broker
    redelivered the task, so the process that had it died). Returns the claimed ids. The message each gone holder
    had in hand gets one more overrun."""
    ids = list(dict.fromkeys(int(pk) for pk in inbound_ids))
    if not ids:
        return []
    ensure_heartbeat()
    now = timezone.now()
    rows = list(
        InboundMessage.objects.filter(pk__in=ids)
        .exclude(status__in=(InboundStatus.PROCESSED, InboundStatus.ERROR))
        .exclude(instance__processing_paused=True)  # its mail waits until an admin resumes it (pipeline.pause)
        .values_list("pk", "status", "claimed_by", "updated_at", "overruns")
    )
    held = {r for r in rows if r[1] == InboundStatus.PROCESSING}
    holders = {r[2] for r in held}
    if redelivered:
        gone = holders
    else:
        stale, never_beat = dead_holders(holders, now) if holders else (set(), set())
        gone = stale | {r[2] for r in held if r[2] in never_beat and r[3] < now - STALE_CLAIM}
    takeover = [r for r in held if r[2] in gone]
    candidates = [r[0] for r in rows if r[1] in CLAIMABLE] + [r[0] for r in takeover]
    if not candidates:
        return []
    me = worker_identity()
    qn = connection.ops.quote_name
    table = qn(InboundMessage._meta.db_table)
    status, claimed_by = qn("status"), qn("claimed_by")
    condition = f"{status} IN (%s, %s)"
    params: list[Any] = [InboundStatus.PROCESSING, connection.ops.adapt_datetimefield_value(now), me]
    params += candidates
    params += list(CLAIMABLE)
    if gone:
        condition = f"({condition} OR ({status} = %s AND {claimed_by} IN ({', '.join(['%s'] * len(gone))})))"
        params += [InboundStatus.PROCESSING, *sorted(gone)]
    sql = (
        f"UPDATE {table} SET {status} = %s, {qn('updated_at')} = %s, {claimed_by} = %s "
        f"WHERE {qn('id')} IN ({', '.join(['%s'] * len(candidates))}) AND {condition} RETURNING {qn('id')}"
    )
    with connection.cursor() as cursor:  # one statement: of two racing claimers, the second gets nothing back
        cursor.execute(sql, params)
        claimed = {row[0] for row in cursor.fetchall()}
    in_hand = _in_hand([r for r in takeover if r[0] in claimed])
    if in_hand:
        log.warning("took over inbound %s from dead workers; counted as an overrun", sorted(in_hand))
        InboundMessage.objects.filter(pk__in=in_hand).update(overruns=F("overruns") + 1)
    return [pk for pk in ids if pk in claimed]


def _in_hand(taken: list[tuple[int, str, str, datetime, int]]) -> set[int]:
    """Of the rows taken over, the one each dead holder had in hand: its first in processing order."""
    first: dict[str, tuple[int, int]] = {}
    for pk, _status, holder, _at, overruns in taken:
        key = (overruns, pk)
        if holder not in first or key < first[holder]:
            first[holder] = key
    return {pk for _, pk in first.values()}


def processing_order(message: InboundMessage) -> tuple[int, int]:
    """The order a holder processes its claimed messages in (see the module docstring)."""
    return (message.overruns, message.pk)


def release(messages: Sequence[InboundMessage], *, waiting_on: int | None = None) -> None:
    """Give claimed messages back unprocessed (waiting again, no attempt spent); ``waiting_on``: they wait for
    that message (see ``thread_order``)."""
    if not messages:
        return
    waits: dict[str, Any] = {}
    if waiting_on is not None:
        waits = {"waiting_on": waiting_on, "waiting_since": Coalesce(F("waiting_since"), Value(timezone.now()))}
    InboundMessage.objects.filter(pk__in=[m.pk for m in messages], status=InboundStatus.PROCESSING).update(
        status=InboundStatus.RECEIVED, claimed_by="", updated_at=timezone.now(), **waits
    )
