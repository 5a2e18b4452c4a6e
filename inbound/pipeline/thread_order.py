"""Threads in order: a reply whose request was captured but is not processed yet waits for it.

Without this, a reply processed before (or while) its request is would find no issue to comment on and become a
new issue (seen after an outage, when requests and replies arrive in one poll and two workers share them). A reply
waits (released, no attempt spent) until every captured message it names in In-Reply-To or References has an
outcome. While such a message is being retried (it failed for a temporary reason: a tracker outage), the reply waits
as long as it does: it ends, processed or in error, within its attempts. A message never tried yet (its worker is
stuck, say) is waited for at most ``JEMH_THREAD_WAIT_SECONDS`` from the reply's first wait (not its capture: after
a backlog every reply is old); then the reply is processed anyway and its report says so.

A waiting reply records the message it waits for (``waiting_on``): the worker that finishes that message runs the
reply next (:func:`wake_waiting`). The reply also looks again by itself (after ``JEMH_THREAD_WAIT_RETRY_SECONDS``,
backing off to a minute: ``tasks._wait_retries``), and the sweep finds it, for a wake that is missed (the reply began
to wait just after its request's worker looked).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from inbound.mime import ParsedMessage
from inbound.models import InboundMessage, InboundStatus
from jemh.crypto import keyed_hash_candidates

UNFINISHED = (InboundStatus.RECEIVED, InboundStatus.PROCESSING, InboundStatus.FAILED)


@dataclass(frozen=True)
class Wait:
    """The message waits for these captured, unprocessed messages (audit row ids)."""

    blockers: frozenset[int]


def wait_limit() -> timedelta:
    return timedelta(seconds=getattr(settings, "JEMH_THREAD_WAIT_SECONDS", 120))


def unprocessed_references(message: InboundMessage, parsed: ParsedMessage) -> dict[int, bool]:
    """The audit rows of the same instance, not yet processed, whose Message-ID the message refers to: by id,
    whether it is being retried (it failed for a temporary reason, and it is not itself waiting: two messages that
    name each other, as a hostile sender may write them, must not wait for each other without end)."""
    named = {parsed.in_reply_to, *parsed.references} - {"", parsed.message_id}
    if not named:
        return {}
    hashes = sorted({h for message_id in named for h in keyed_hash_candidates(message_id, purpose="message-id")})
    with connection.cursor() as cursor:
        cursor.execute(rows_by_message_id_sql(len(hashes)), hashes)
        return {
            pk: bool(retried)
            for pk, instance_id, status, retried in cursor.fetchall()
            if instance_id == message.instance_id and status in UNFINISHED and pk != message.pk
        }


def rows_by_message_id_sql(hashes: int) -> str:
    """The look-up behind :func:`unprocessed_references`, for this many hashes: every reply asks it, so a statement
    of a fixed shape per count, no ORM query to compile. It names only the hashes: the rows sharing a Message-ID are
    few, and the index on the hash finds them whatever the table's statistics say. (With the instance and status in
    the WHERE as well, a table too new or grown too fast for its statistics, as on a fresh install or in a backlog,
    was read through an index on the instance instead: every row of the instance, for every reply.) The caller
    checks instance, status and id on the rows it returns."""
    qn = connection.ops.quote_name
    return (
        f"SELECT {qn('id')}, {qn('instance_id')}, {qn('status')}, "
        f"{qn('processed_at')} IS NOT NULL AND {qn('waiting_since')} IS NULL "
        f"FROM {qn(InboundMessage._meta.db_table)} WHERE {qn('message_id_hash')} IN ({', '.join(['%s'] * hashes)})"
    )


def waits_for(message: InboundMessage, parsed: ParsedMessage, now: datetime) -> tuple[Wait | None, str]:
    """Whether the message must wait, and otherwise a note for its report when it stopped waiting (else "")."""
    blockers = unprocessed_references(message, parsed)
    if not blockers:
        return None, ""
    if any(blockers.values()) or now - (message.waiting_since or now) < wait_limit():
        return Wait(frozenset(blockers)), ""
    ids = ", ".join(f"#{pk}" for pk in sorted(blockers))
    return None, (
        f"processed without waiting for {ids}, which it replies to: not tried within "
        f"{int(wait_limit().total_seconds())} s of this message's first wait (it may start a new thread)"
    )


def wake_waiting(finished: Collection[int], limit: int) -> list[int]:
    """Up to ``limit`` replies that were released to wait for one of these (now finished) messages, taken for the
    caller to run: their wait is cleared in one statement, so of two callers only one gets each."""
    ids = sorted({int(pk) for pk in finished})
    if not ids:
        return []
    qn = connection.ops.quote_name
    table, waiting_on = qn(InboundMessage._meta.db_table), qn("waiting_on")
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET {waiting_on} = NULL WHERE {qn('id')} IN (SELECT {qn('id')} FROM {table} "
        f"WHERE {waiting_on} IN ({marks}) AND {qn('status')} = %s ORDER BY {qn('id')} LIMIT %s) RETURNING {qn('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, InboundStatus.RECEIVED, limit])
        return sorted(row[0] for row in cursor.fetchall())
