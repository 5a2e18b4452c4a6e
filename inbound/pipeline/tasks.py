"""Celery tasks of the pipeline: thin wrappers around the processing service, and the sweep that drains what
was left waiting (oldest first)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task, signals
from django.conf import settings
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.backlog import forget_old_heartbeats, oldest_waiting
from inbound.pipeline.claims import mark_worker, stop_heartbeat
from inbound.pipeline.service import (
    OVERRAN,
    PAUSED,
    RELEASED,
    WAITING,
    process_inbound,
    process_inbound_group,
    retry_delay,
)
from inbound.pipeline.thread_order import wake_waiting

log = logging.getLogger(__name__)

# A message that failed for a temporary reason is retried after RETRY_BASE seconds, doubling up to RETRY_MAX; one the
# tracker refused with a retry time (Jira's Retry-After: a rate limit) is retried after that time instead.
RETRY_BASE_SECONDS: int = getattr(settings, "JEMH_RETRY_BASE_SECONDS", 30)
RETRY_MAX_SECONDS = 3600
GROUP_SIZE = 25  # messages per queued group (= inbound.sources.base.FETCH_CHUNK_MESSAGES)
SWEEP_GROUPS = 4  # groups the sweep queues at once; each queues the next oldest group when it is done
WAKE_ROUNDS = 3  # rounds of waiting replies a run takes on after its own messages (replies to replies: the next)
NOT_FINISHED = (WAITING, RELEASED, OVERRAN, PAUSED)
WAIT_RETRY_MAX_SECONDS = 60  # the longest a waiting reply goes without looking again by itself

# Celery's time limits on each processing task: a backstop for the whole group (each message has its own budget,
# JEMH_PROCESSING_SOFT_LIMIT/HARD_LIMIT, enforced in the worker process: see inbound.pipeline.claims).
SOFT_LIMIT: int = getattr(settings, "JEMH_PROCESSING_TASK_SOFT_LIMIT", 900)
HARD_LIMIT: int = getattr(settings, "JEMH_PROCESSING_TASK_HARD_LIMIT", 960)


@signals.celeryd_init.connect(dispatch_uid="inbound.pipeline.worker_init")
def _in_a_worker(**kwargs: Any) -> None:
    """The processes of a Celery worker (started by ``celery worker``: its main process, and the pool processes
    forked from it) beat a heartbeat once they claim mail (claims follow their worker)."""
    mark_worker()


@signals.worker_shutdown.connect(dispatch_uid="inbound.pipeline.worker_shutdown")
@signals.worker_process_shutdown.connect(dispatch_uid="inbound.pipeline.worker_process_shutdown")
def _worker_stops(**kwargs: Any) -> None:
    stop_heartbeat()


def _redelivered(task: Any) -> bool:
    """The broker redelivered the task: the worker process that had it died."""
    return bool((task.request.delivery_info or {}).get("redelivered"))


# ignore_result: the outcome is recorded on the audit row; storing it in the result backend too only costs time
@shared_task(
    bind=True,
    name="inbound.process_message",
    acks_late=True,
    max_retries=None,
    ignore_result=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
def process_message(self, inbound_id: int) -> str | None:  # type: ignore[no-untyped-def]
    outcome = process_inbound(inbound_id, redelivered=_redelivered(self))
    if outcome == "failed":
        delay = _retry_delays([inbound_id]).get(inbound_id)
        if delay is None:
            delay = min(RETRY_BASE_SECONDS * 2 ** min(self.request.retries, 10), RETRY_MAX_SECONDS)
        raise self.retry(countdown=delay)
    outcomes = {inbound_id: outcome} if outcome else {}
    _follow_up({**outcomes, **_run_woken(outcomes)})
    return outcome


@shared_task(
    bind=True,
    name="inbound.process_messages",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
def process_messages(self, inbound_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Process a group of captured messages (queued together by capture); a message that fails for a temporary
    reason is retried on its own with back-off. Safe to run twice: finished messages are skipped."""
    process_group(inbound_ids, redelivered=_redelivered(self))


@shared_task(
    bind=True,
    name="inbound.drain_backlog",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
def drain_backlog(self, inbound_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Process a group the sweep queued, then queue the next oldest waiting group (a chain that drains the
    backlog oldest first as fast as the workers take it; it ends when it finds nothing to claim)."""
    if process_group(inbound_ids, redelivered=_redelivered(self)):
        following = oldest_waiting(GROUP_SIZE)
        if following:
            drain_backlog.delay(following)


def process_group(inbound_ids: list[int], redelivered: bool = False) -> dict[int, str]:
    outcomes = process_inbound_group(inbound_ids, redelivered=redelivered)
    outcomes.update(_run_woken(outcomes))
    _follow_up(outcomes)
    return outcomes


def _finished(outcomes: dict[int, str]) -> list[int]:
    return [pk for pk, outcome in outcomes.items() if outcome not in (*NOT_FINISHED, "failed")]


def _run_woken(outcomes: dict[int, str]) -> dict[int, str]:
    """Run the replies that were waiting for messages this run finished, here and now (``thread_order``): the queue
    may be long, and this process's tracker caches know their issues. Their own waiting replies in turn, up to
    WAKE_ROUNDS; what is left waits for its retry. A failure here costs no outcome: those already committed stay,
    and the woken replies' retries (or the sweep) run them."""
    ran: dict[int, str] = {}
    finished = _finished(outcomes)
    try:
        for _ in range(WAKE_ROUNDS):
            woken = wake_waiting(finished, GROUP_SIZE)
            if not woken:
                break
            round_outcomes = process_inbound_group(woken)
            ran.update(round_outcomes)
            finished = _finished(round_outcomes)
    except Exception:
        log.warning("could not run the replies waiting for inbound %s; their retries will", sorted(finished))
    return ran


def _follow_up(outcomes: dict[int, str]) -> None:
    """Queue what a run left to do: retries with back-off, replies waiting for their request, messages released
    when one ran out of time (again at once; the one that overran alone). With the broker down, the sweep queues
    them later (they are waiting rows): nothing is lost."""
    try:
        released = [pk for pk, outcome in outcomes.items() if outcome == RELEASED]
        if released:
            process_messages.delay(released)
        failed = [pk for pk, outcome in outcomes.items() if outcome == "failed"]
        delays = _retry_delays(failed) if failed else {}
        waiting = [pk for pk, outcome in outcomes.items() if outcome == WAITING]
        waits = _wait_retries(waiting) if waiting else {}
        for inbound_id, outcome in outcomes.items():
            if outcome == "failed":
                process_message.apply_async((inbound_id,), countdown=delays.get(inbound_id, RETRY_BASE_SECONDS))
            elif outcome == WAITING:
                process_message.apply_async((inbound_id,), countdown=waits.get(inbound_id, WAIT_RETRY_MAX_SECONDS))
            elif outcome == OVERRAN:
                process_message.delay(inbound_id)
    except Exception:
        log.warning("could not queue the follow-ups of inbound %s; the sweep will", sorted(outcomes))


def _wait_retries(inbound_ids: list[int]) -> dict[int, float]:
    """When each waiting reply looks again by itself (the worker that finishes its request runs it sooner): after
    JEMH_THREAD_WAIT_RETRY_SECONDS at first, later after a quarter of the time it has waited, at most a minute (a
    reply waits as long as its request is retried, through a tracker outage too)."""
    now = timezone.now()
    rows = InboundMessage.objects.filter(pk__in=inbound_ids).values_list("pk", "waiting_since")
    first = settings.JEMH_THREAD_WAIT_RETRY_SECONDS
    return {pk: min(WAIT_RETRY_MAX_SECONDS, max(first, (now - (at or now)).total_seconds() / 4)) for pk, at in rows}


def _retry_delays(inbound_ids: list[int]) -> dict[int, float]:
    """The retry countdowns the failed messages' reports ask for (the tracker's Retry-After), by id."""
    rows = InboundMessage.objects.filter(pk__in=inbound_ids, status=InboundStatus.FAILED).values_list("pk", "report")
    return {pk: delay for pk, report in rows if (delay := retry_delay(report)) is not None}


@shared_task(name="inbound.resume_processing", ignore_result=True)
def resume_processing(groups: int = SWEEP_GROUPS) -> int:
    """Queue the oldest mail that waits too long: captured but never queued (broker down), claimed by a worker
    that is gone, or failed with its retry lost. Queues a few groups, each of which queues the next oldest when
    done (``drain_backlog``). Scheduled every 15 seconds by beat; safe because processing is idempotent."""
    forget_old_heartbeats()
    ids = oldest_waiting(groups * GROUP_SIZE)
    for start in range(0, len(ids), GROUP_SIZE):
        drain_backlog.delay(ids[start : start + GROUP_SIZE])
    return len(ids)
