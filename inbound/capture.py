"""Capture: turn raw mail handed over by a source into an encrypted blob plus an ``InboundMessage`` audit row.

Order of operations (a crash at any point loses nothing and duplicates nothing):

1. store the raw bytes in the encrypting blob storage, flushed to disk (a crash here leaves at most an orphan blob);
2. record the audit row and the source receipt in one transaction (a crash before the commit leaves
   the message in the mailbox, captured again on the next poll);
3. only then does the caller tell the source (mark read, move, delete); a crash before that is
   repaired by the next poll, which finds the receipt and only tells the source again.

Capture is idempotent on its dedupe keys: the source's key (IMAP folder+UIDVALIDITY+UID, POP3 UIDL,
Maildir name), then the Message-ID within the instance, then (mail without Message-ID) the content within
the instance over ``CONTENT_WINDOW`` (within the source, for ever).

A test case run for real records its message without a source (``record_without_source``): the same row, made
by the same code, but never deduplicated, since a test case may run again and again.

Two guarantees hold whatever the server's defaults and whatever runs beside a capture:

- **durable before acknowledged**: the transaction of step 2 commits durably (``synchronous_commit = on``
  for it on PostgreSQL, even when the server runs with it off), so a mailbox told in step 3, or an MTA
  given exit code 0, never holds the only copy of mail a database crash could still lose; the raw mail's blobs
  are flushed to disk before it (``EncryptedStorage.make_durable``), so a machine's crash cannot leave a row
  whose mail is gone;
- **one row per mail under races**: inside that transaction capture takes a PostgreSQL advisory lock on
  each identity (Message-ID, or content) per instance, in a fixed order, then looks for earlier rows, then
  inserts; a unique constraint on (instance, Message-ID) is the backstop. Concurrent deliveries of one
  mail through any mix of sources end in one audit row, the later copies counted on it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus, Outcome, Source, SourceReceipt
from inbound.signals import messages_captured
from inbound.summary import MailSummary, summarize
from jemh import metrics
from jemh.crypto import keyed_hash, keyed_hash_candidates
from jemh.logging import Pii
from jemh.models import Instance
from jemh.stages import timed
from jemh.storage import EncryptedStorage, blob_storage, discard_blobs, instance_blob_name

log = logging.getLogger(__name__)
LOOKUP_CHUNK = 500
CONTENT_WINDOW = timedelta(days=7)  # mail without Message-ID: the same content from another source is a copy
CONFLICT_RETRIES = 3  # a unique violation means a copy committed beside us: look again (it is found then)


class StoreError(Exception):
    """The raw mail could not be stored (storage unreachable or full). Temporary: nothing was recorded."""


@dataclass(frozen=True)
class Incoming:
    """One message handed over by a source. ``raw`` is the whole message, or only its header section when
    ``oversized`` (then ``size`` is the full size the source reported)."""

    raw: bytes
    key: str | None = None
    size: int | None = None
    oversized: bool = False


@dataclass(frozen=True)
class CaptureResult:
    key: str | None
    message: InboundMessage | None  # None only when an earlier audit row was purged since
    new: bool  # a new audit row was written by this call
    duplicate: bool = False  # the same mail had arrived before (same Message-ID, or same content)


def capture(source: Source, raw: bytes, *, key: str | None = None, revalidating: bool = False) -> CaptureResult:
    return capture_batch(source, [Incoming(raw=raw, key=key)], revalidating=revalidating)[0]


def capture_oversized(
    source: Source, headers: bytes, *, size: int, key: str | None = None, revalidating: bool = False
) -> CaptureResult:
    incoming = Incoming(raw=headers, key=key, size=size, oversized=True)
    return capture_batch(source, [incoming], revalidating=revalidating)[0]


@timed("capture")
def capture_batch(source: Source, items: Sequence[Incoming], *, revalidating: bool = False) -> list[CaptureResult]:
    """Capture ``items`` (one source, in order); returns one result per item. Raises StoreError."""
    if not items:
        return []
    try:
        return _capture_chunk(source, list(items), revalidating)
    except IntegrityError:
        # Another capture recorded one of these keys at the same moment: settle them one by one.
        return [_capture_one(source, item, revalidating) for item in items]


def _capture_one(source: Source, item: Incoming, revalidating: bool) -> CaptureResult:
    for attempt in range(CONFLICT_RETRIES):
        try:
            return _capture_chunk(source, [item], revalidating)[0]
        except IntegrityError:
            if attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


@dataclass
class _Prepared:
    item: Incoming
    summary: MailSummary
    message_id_hash: str
    content_hash: str
    message_id_candidates: list[str]  # keyed_hash_candidates: the hash (first) and those older rows may carry
    content_candidates: list[str]
    result: CaptureResult | None = None
    duplicate_of: int | None = None  # index of an earlier item of this chunk with the same mail
    earlier: InboundMessage | None = None  # the audit row of the same mail captured before
    row: InboundMessage | None = None

    @property
    def identity(self) -> str:
        return self.message_id_hash or "content:" + self.content_hash


def record_without_source(instance_id: int, raw: bytes) -> InboundMessage:
    """An audit row without a source for ``raw`` (a test case run for real), made as capture makes its rows, with
    the raw mail in the encrypting storage: ready for processing. Not announced (the caller processes it) and
    never deduplicated."""
    instance = Instance.objects.get(pk=instance_id)
    now = timezone.now()
    p = _prepare(Incoming(raw=raw))
    p.row = InboundMessage(raw_blob=_store_raw(blob_storage(), _blob_name(instance, "test-cases", now), raw))
    row = _row(instance, None, p, now)
    try:
        row.save()
    except BaseException:
        discard_blobs([row.raw_blob], "unrecorded raw mail")
        raise
    return row


def _blob_name(instance: Instance, folder: object, now: datetime) -> str:
    """Where a message's raw mail is stored: in the instance's storage, under its id (or ``test-cases``) and the day
    it came."""
    return instance_blob_name(instance, f"inbound/{folder}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.eml")


def _prepare(item: Incoming) -> _Prepared:
    summary = summarize(item.raw)
    digest = hashlib.sha256(item.raw)
    if item.oversized:
        digest.update(f"\0size={item.size}".encode())
    by_id = keyed_hash_candidates(summary.message_id, purpose="message-id") if summary.message_id else [""]
    by_content = keyed_hash_candidates(digest.hexdigest(), purpose="content")
    return _Prepared(
        item=item,
        summary=summary,
        message_id_hash=by_id[0],
        content_hash=by_content[0],
        message_id_candidates=by_id if summary.message_id else [],
        content_candidates=by_content,
    )


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + LOOKUP_CHUNK] for i in range(0, len(values), LOOKUP_CHUNK)]


def _capture_chunk(source: Source, items: list[Incoming], revalidating: bool) -> list[CaptureResult]:
    instance = source.instance
    prepared = [_prepare(item) for item in items]
    receipts = _receipts(source, [p.item.key for p in prepared if p.item.key])
    for p in prepared:
        if p.item.key and p.item.key in receipts:
            p.result = CaptureResult(p.item.key, receipts[p.item.key].message, new=False)
    now = timezone.now()
    _classify(prepared, _earlier_copies(source, [p for p in prepared if p.result is None], now))  # a first look
    stored = _store_all(instance, _fresh(prepared), now)
    try:
        late = _commit_chunk(source, prepared, revalidating, now)
    except BaseException:
        discard_blobs(stored, "unrecorded raw mail")
        raise
    if late:  # copies recorded beside us while the blobs were stored
        discard_blobs(late, "raw mail of a copy recorded meanwhile")
    for p in prepared:
        if p.result is not None:
            continue
        if p.earlier is not None:
            p.result = CaptureResult(p.item.key, p.earlier, new=False, duplicate=True)
        elif p.duplicate_of is not None:
            first = prepared[p.duplicate_of]
            p.result = CaptureResult(p.item.key, first.earlier or first.row, new=False, duplicate=True)
        else:
            p.result = CaptureResult(p.item.key, p.row, new=True)
    return [p.result for p in prepared if p.result is not None]


def _classify(prepared: list[_Prepared], earlier: dict[str, InboundMessage]) -> None:
    """Mark copies of mail recorded before (``earlier``, by identity) and of an earlier item of the chunk."""
    first_in_chunk: dict[str, int] = {}
    for index, p in enumerate(prepared):
        if p.result is not None:
            continue
        p.duplicate_of = None
        if p.earlier is None:
            p.earlier = earlier.get(p.identity)
        if p.earlier is not None:
            continue
        if p.identity in first_in_chunk:
            p.duplicate_of = first_in_chunk[p.identity]
        else:
            first_in_chunk[p.identity] = index


def _fresh(prepared: list[_Prepared]) -> list[_Prepared]:
    """Items that make a new audit row."""
    return [p for p in prepared if p.result is None and p.earlier is None and p.duplicate_of is None]


def _receipts(source: Source, keys: list[str]) -> dict[str, SourceReceipt]:
    found: dict[str, SourceReceipt] = {}
    for part in _chunks(keys):
        for receipt in SourceReceipt.objects.filter(source=source, key__in=part).select_related("message"):
            found[receipt.key] = receipt
    return found


def _earlier_copies(source: Source, candidates: list[_Prepared], now: datetime) -> dict[str, InboundMessage]:
    """The oldest audit row of the instance for each candidate's identity: the same Message-ID, or (mail
    without one) the same content from this source, or from any source of the instance within the window."""
    instance_id = source.instance_id
    by_id: dict[str, InboundMessage] = {}
    by_content: dict[str, InboundMessage] = {}
    message_ids = sorted({h for p in candidates if p.message_id_hash for h in p.message_id_candidates})
    contents = sorted({h for p in candidates if not p.message_id_hash for h in p.content_candidates})
    recent = Q(source_id=source.pk) | Q(received_at__gte=now - CONTENT_WINDOW)
    for part in _chunks(message_ids):
        query = InboundMessage.objects.filter(instance_id=instance_id, message_id_hash__in=part).order_by("-pk")
        for message in query:
            by_id[message.message_id_hash] = message  # the oldest wins (iterated last)
    for part in _chunks(contents):
        query = (
            InboundMessage.objects.filter(instance_id=instance_id, content_hash__in=part, message_id_hash="")
            .filter(recent)
            .order_by("-pk")
        )
        for message in query:
            by_content[message.content_hash] = message
    found: dict[str, InboundMessage] = {}
    for p in candidates:
        earliest = (
            _oldest(by_id, p.message_id_candidates) if p.message_id_hash else _oldest(by_content, p.content_candidates)
        )
        if earliest is not None:
            found[p.identity] = earliest
    return found


def _oldest(found: dict[str, InboundMessage], candidates: list[str]) -> InboundMessage | None:
    """The earliest row found under any of a mail's candidate hashes (rows hashed before JEMH_INDEX_KEY count)."""
    rows = [found[h] for h in candidates if h in found]
    return min(rows, key=lambda row: row.pk) if rows else None


def _durable() -> None:
    """Make the current transaction's commit wait for its WAL flush, whatever the server's default (the
    test suite's server, and some tuned installs, run with ``synchronous_commit = off``)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = on")


def _lock_identities(instance_id: int, prepared: list[_Prepared]) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock per identity (instance + Message-ID or content),
    taken in ascending order so two captures never wait on each other in a cycle. A capture of the same mail
    elsewhere waits here until this transaction ends, then finds its row."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers; the unique constraint still holds Message-IDs
    keys = sorted(
        {
            int.from_bytes(hashlib.sha256(f"{instance_id}:{p.identity}".encode()).digest()[:8], "big", signed=True)
            for p in prepared
        }
    )
    if keys:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys)), keys)


def _store_all(instance: Instance, fresh: list[_Prepared], now: datetime) -> list[str]:
    storage = blob_storage()
    stored: list[str] = []
    keep = getattr(instance, "store_raw_mail", True)
    for p in fresh:
        if p.item.oversized and not keep:
            continue  # rejected at once: nothing to process, nothing an opted-out instance keeps
        try:
            p.row = InboundMessage(raw_blob=_store_raw(storage, _blob_name(instance, instance.pk, now), p.item.raw))
        except Exception as exc:
            discard_blobs(stored, "unrecorded raw mail")
            raise StoreError(f"could not store the raw mail: {exc}") from exc
        stored.append(p.row.raw_blob)
    try:
        storage.make_durable(stored)  # on disk before the commit that tells the mailbox it may let go
    except Exception as exc:
        discard_blobs(stored, "unrecorded raw mail")
        raise StoreError(f"could not store the raw mail durably: {exc}") from exc
    return stored


def _store_raw(storage: EncryptedStorage, name: str, raw: bytes) -> str:
    """Step 1: the encrypted blob (a separate function so crash tests can stop right after it)."""
    return storage.save_bytes(name, raw)


def _row(instance: Instance, source: Source | None, p: _Prepared, now: datetime) -> InboundMessage:
    row = p.row or InboundMessage()
    summary = p.summary
    row.instance, row.source, row.received_at = instance, source, now
    row.message_id, row.message_id_hash, row.content_hash = summary.message_id, p.message_id_hash, p.content_hash
    row.subject, row.sender, row.recipients = summary.subject, summary.sender, summary.recipients
    row.sender_hash = keyed_hash(summary.sender, purpose="address") if summary.sender else ""
    row.size = p.item.size if p.item.size is not None else len(p.item.raw)
    if p.item.oversized:
        assert source is not None, "only a source hands over oversized mail"
        limit = source.max_message_size
        reason = f"too large: {row.size} bytes, over this source's limit of {limit} bytes"
        row.status, row.outcome, row.processed_at = InboundStatus.PROCESSED, Outcome.REJECTED, now
        row.report = {
            "rejected_reason": "too large",
            "size": row.size,
            "limit": limit,
            "raw_is_headers_only": bool(row.raw_blob),
            "steps": [{"step": "size limit", "verdict": "rejected", "reason": reason}],
        }
    else:
        row.status, row.report = InboundStatus.RECEIVED, {}
        row.raw_retained_until_processed = not instance.store_raw_mail
    return row


def _commit_chunk(source: Source, prepared: list[_Prepared], revalidating: bool, now: datetime) -> list[str]:
    """Step 2: audit rows and receipts, in one durable transaction. Returns the blobs of items found to be
    copies only once the identities were locked (to discard)."""
    late: list[str] = []
    with transaction.atomic():
        _durable()
        candidates = _fresh(prepared)
        _lock_identities(source.instance_id, candidates)
        if candidates:
            earlier = _earlier_copies(source, candidates, now)
            if earlier:
                for p in candidates:
                    if p.identity in earlier and p.row is not None and p.row.raw_blob:
                        late.append(p.row.raw_blob)
                _classify(prepared, earlier)
        fresh = _fresh(prepared)
        rows = [_row(source.instance, source, p, now) for p in fresh]
        InboundMessage.objects.bulk_create(rows)
        for p, row in zip(fresh, rows, strict=True):
            p.row = row
        receipts: list[SourceReceipt] = []
        counted: list[int] = []
        for p in prepared:
            if p.result is not None:
                continue
            first = prepared[p.duplicate_of] if p.duplicate_of is not None else None
            target = p.earlier or (first.earlier or first.row if first is not None else p.row)
            if p.item.key is not None:
                receipts.append(SourceReceipt(source=source, key=p.item.key, message=target))
            if p.earlier is not None and not (revalidating and p.earlier.source_id == source.pk):
                counted.append(p.earlier.pk)
            elif first is not None and target is not None:
                counted.append(target.pk)
        SourceReceipt.objects.bulk_create(receipts)
        for pk in counted:
            InboundMessage.objects.filter(pk=pk).update(duplicate_copies=F("duplicate_copies") + 1)
        waiting = [row for row in rows if row.status == InboundStatus.RECEIVED]
        if waiting:
            transaction.on_commit(lambda: _announce(waiting))
    if rows:
        metrics.count("jemh_inbound_captured", len(rows))
    for p, row in zip(fresh, rows, strict=True):
        log.info(
            "captured inbound #%s from source %s: message id %s, sender %s, %s bytes%s",
            row.pk,
            source.pk,
            Pii.message_id(p.summary.message_id),
            Pii.address(p.summary.sender),
            row.size,
            " (rejected: too large)" if p.item.oversized else "",
        )
    return late


def _announce(rows: list[InboundMessage]) -> None:
    for _receiver, response in messages_captured.send_robust(sender=InboundMessage, messages=rows):
        if isinstance(response, Exception):
            log.error(
                "a receiver of messages_captured failed for inbound #%s..#%s: %r", rows[0].pk, rows[-1].pk, response
            )
