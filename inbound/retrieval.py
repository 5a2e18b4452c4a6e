"""Polling a source: take what is waiting, capture it, then tell the mailbox.

Never two polls of one source at once: a poll holds a lease on the source row, taken with a conditional
UPDATE (atomic on PostgreSQL and SQLite alike) and renewed per chunk; a crashed poller's lease expires.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db import DatabaseError, InterfaceError, connection
from django.db.models import Q
from django.utils import timezone

from inbound import health
from inbound.capture import LOOKUP_CHUNK, Incoming, StoreError, capture_batch
from inbound.models import Source, SourceReceipt
from inbound.sources import Envelope, MailboxSession, SourceError, open_session
from inbound.sources.base import fetch_chunks
from inbound.summary import header_block

log = logging.getLogger(__name__)
LEASE_TTL = timedelta(minutes=5)  # renewed per chunk; a crashed poller blocks the source at most this long
# A poll that fails because the database went away waits this long for it to come back, to record the failure
# and release its lease (otherwise the lease blocks the source until it runs out).
DATABASE_PATIENCE = timedelta(seconds=60)


@dataclass
class PollResult:
    source_id: int
    status: str  # "ok", "failed" or "skipped"
    captured: int = 0  # new audit rows (including rejected oversized mail)
    rejected_too_large: int = 0
    duplicates: int = 0  # copies of mail captured before (same Message-ID or content)
    acknowledged: int = 0  # messages the mailbox was told about (read strategy applied)
    more_pending: bool = False  # the batch limit left messages for the next poll
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def acquire_lease(source_id: int, ttl: timedelta = LEASE_TTL) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        Source.objects.filter(pk=source_id)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_token=token, poll_lease_until=now + ttl)
    )
    return token if taken else None


def renew_lease(source_id: int, token: str, ttl: timedelta = LEASE_TTL) -> bool:
    return bool(
        Source.objects.filter(pk=source_id, poll_lease_token=token).update(poll_lease_until=timezone.now() + ttl)
    )


def release_lease(source_id: int, token: str) -> None:
    Source.objects.filter(pk=source_id, poll_lease_token=token).update(poll_lease_token="", poll_lease_until=None)


def poll(source: Source | int, *, force: bool = False) -> PollResult:
    """Poll one source. ``force`` polls even while backing off or disabled (the admin's "poll now")."""
    source_id = source if isinstance(source, int) else source.pk
    loaded = Source.objects.select_related("instance").filter(pk=source_id).first()
    if loaded is None:
        return PollResult(source_id, "skipped", detail="the source no longer exists")
    source = loaded
    if not source.is_polled:
        return PollResult(source_id, "skipped", detail=f"{source.get_kind_display()} sources are not polled")
    if not force and not source.enabled:
        return PollResult(source_id, "skipped", detail="the source is disabled")
    if not force and not health.is_due(source):
        return PollResult(source_id, "skipped", detail=f"backing off until {source.next_poll_at:%H:%M:%S %Z}")
    token = acquire_lease(source_id)
    if token is None:
        return PollResult(source_id, "skipped", detail="another poll of this source is running")
    result = PollResult(source_id, "ok")
    error = ""
    retry_after: float | None = None
    try:
        state = _poll_locked(source, token, result)
        health.record_success(source, state)
    except (SourceError, StoreError) as exc:
        error = result.detail = str(exc)
        result.status = "failed"
        retry_after = getattr(exc, "retry_after", None)
    except Exception as exc:  # the database going away mid-poll included: the mail stays in the mailbox
        log.exception("unexpected error while polling source %s", source_id)
        error = f"unexpected error ({exc.__class__.__name__}): {exc}"
        result.status, result.detail = "failed", f"{exc.__class__.__name__}: {exc}"
    if result.status == "failed":
        _despite_outage(source_id, "record the failure", lambda: _record_failure(source_id, error, retry_after))
    _despite_outage(source_id, "release the poll lease", lambda: release_lease(source_id, token))
    return result


def _record_failure(source_id: int, error: str, retry_after: float | None = None) -> None:
    source = Source.objects.select_related("instance").filter(pk=source_id).first()  # as it is now, not as polled
    if source is not None:
        health.record_failure(source, error, retry_after=retry_after)


def _despite_outage(source_id: int, what: str, write: Callable[[], None]) -> bool:
    """Run ``write`` (the poll's last words on the source), waiting up to DATABASE_PATIENCE for a database
    that went away to come back; never raises. False (and an error in the log) when it could not be done."""
    deadline = time.monotonic() + DATABASE_PATIENCE.total_seconds()
    pause = 0.5
    while True:
        try:
            write()
            return True
        except (DatabaseError, InterfaceError) as exc:
            _drop_connection()
            if time.monotonic() + pause > deadline:
                log.error(
                    "source %s: could not %s, the database is unreachable (%s: %s); the lease runs out by itself "
                    "within %s",
                    source_id,
                    what,
                    exc.__class__.__name__,
                    exc,
                    LEASE_TTL,
                )
                return False
            log.warning("source %s: waiting for the database to %s (%s)", source_id, what, exc.__class__.__name__)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
        except Exception:
            log.exception("source %s: could not %s", source_id, what)
            return False


def _drop_connection() -> None:
    """Forget a broken database connection so the next query opens a new one (outside a transaction only)."""
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except Exception:  # closing a dead connection may fail too; Django forgets it either way
        connection.connection = None


def _known(source: Source, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        part = keys[start : start + LOOKUP_CHUNK]
        found.update(SourceReceipt.objects.filter(source=source, key__in=part).values_list("key", flat=True))
    return found


def _poll_locked(source: Source, token: str, result: PollResult) -> dict[str, object]:
    with open_session(source) as session:
        waiting = session.pending()
        known = _known(source, [e.key for e in waiting])
        retell = [e for e in waiting if e.key in known]
        if retell:  # recorded by an earlier poll that stopped before telling the mailbox
            session.acknowledge(retell)
            result.acknowledged += len(retell)
        new = [e for e in waiting if e.key not in known]
        batch = new[: source.batch_limit]
        result.more_pending = len(new) > len(batch)
        for chunk in fetch_chunks(session.measure(batch)):
            if not renew_lease(source.pk, token):
                raise SourceError("the poll lease was lost (the poll took too long); stopping this poll")
            _take_chunk(source, session, chunk, result)
        if session.revalidating:
            log.warning(
                "source %s: the mailbox was renumbered (UIDVALIDITY changed); known mail was recognised "
                "by Message-ID or content",
                source.pk,
            )
        return session.state()


def _take_chunk(source: Source, session: MailboxSession, chunk: list[Envelope], result: PollResult) -> None:
    limit = source.max_message_size
    items: dict[str, Incoming] = {}
    for envelope in chunk:
        if envelope.size is not None and envelope.size > limit:
            items[envelope.key] = Incoming(
                raw=session.fetch_headers(envelope), key=envelope.key, size=envelope.size, oversized=True
            )
    for envelope, raw in session.fetch([e for e in chunk if e.key not in items]):
        if len(raw) > limit:  # the server under-reported the size, or the session stopped reading past the limit
            size = max(len(raw), envelope.size or 0)
            items[envelope.key] = Incoming(raw=header_block(raw), key=envelope.key, size=size, oversized=True)
        else:
            items[envelope.key] = Incoming(raw=raw, key=envelope.key)
    ordered = [e for e in chunk if e.key in items]
    outcomes = capture_batch(source, [items[e.key] for e in ordered], revalidating=session.revalidating)
    for envelope, outcome in zip(ordered, outcomes, strict=True):
        if outcome.new:
            result.captured += 1
            result.rejected_too_large += int(items[envelope.key].oversized)
        elif outcome.duplicate:
            result.duplicates += 1
    items.clear()
    session.acknowledge(ordered)
    result.acknowledged += len(ordered)


def check_connection(source: Source) -> tuple[bool, str]:
    """Connect, log in, look at the mailbox and say what the server said; changes nothing."""
    try:
        with open_session(source) as session:
            return True, session.describe()
    except SourceError as exc:
        return False, str(exc)
