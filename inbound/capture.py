"""Capture: turn raw mail handed over by a source into an encrypted blob plus an ``InboundMessage`` audit row.

Order of operations (a crash at any point loses nothing and duplicates nothing):

1. store the raw bytes in the encrypting blob storage (a crash here leaves at most an orphan blob);
2. record the audit row and the source receipt in one transaction (a crash before the commit leaves
   the message in the mailbox, captured again on the next poll);
3. only then does the caller tell the source (mark read, move, delete); a crash before that is
   repaired by the next poll, which finds the receipt and only tells the source again.

Capture is idempotent on its dedupe keys: the source's key (IMAP folder+UIDVALIDITY+UID, POP3 UIDL,
Maildir name), then the Message-ID within the instance, then (mail without Message-ID) the content
within the source.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from auditing.models import InboundMessage, InboundStatus, Outcome
from inbound.models import Source, SourceReceipt
from inbound.signals import messages_captured
from inbound.summary import MailSummary, summarize
from jemh.crypto import keyed_hash, keyed_hash_candidates
from jemh.logging import Pii
from jemh.stages import timed
from jemh.storage import EncryptedStorage, blob_storage, discard_blobs

if TYPE_CHECKING:
    from jemh.models import Instance

log = logging.getLogger(__name__)
LOOKUP_CHUNK = 500


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
        return [_capture_chunk(source, [item], revalidating)[0] for item in items]


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
    row: InboundMessage | None = None


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
    by_message_id = _earlier(
        instance_id=instance.pk,
        field="message_id_hash",
        values=[h for p in prepared for h in p.message_id_candidates],
    )
    by_content = _earlier(
        source_id=source.pk,
        field="content_hash",
        values=[h for p in prepared if not p.message_id_hash for h in p.content_candidates],
    )
    first_in_chunk: dict[str, int] = {}
    duplicates: list[tuple[_Prepared, InboundMessage | None]] = []
    for index, p in enumerate(prepared):
        identity = p.message_id_hash or "content:" + p.content_hash
        if p.item.key and p.item.key in receipts:
            p.result = CaptureResult(p.item.key, receipts[p.item.key].message, new=False)
        elif (
            earlier := _oldest(by_message_id, p.message_id_candidates)
            if p.message_id_hash
            else _oldest(by_content, p.content_candidates)
        ) is not None:
            duplicates.append((p, earlier))
        elif identity in first_in_chunk:
            p.duplicate_of = first_in_chunk[identity]
        else:
            first_in_chunk[identity] = index
    fresh = [
        p for p in prepared if p.result is None and p.duplicate_of is None and not any(p is d for d, _ in duplicates)
    ]
    now = timezone.now()
    stored = _store_all(instance, fresh, now)
    try:
        _commit_chunk(source, prepared, fresh, duplicates, revalidating, now)
    except BaseException:
        discard_blobs(stored, "unrecorded raw mail")
        raise
    for p, earlier in duplicates:
        p.result = CaptureResult(p.item.key, earlier, new=False, duplicate=True)
    for p in prepared:
        if p.result is None and p.duplicate_of is not None:
            p.result = CaptureResult(p.item.key, prepared[p.duplicate_of].row, new=False, duplicate=True)
        elif p.result is None:
            p.result = CaptureResult(p.item.key, p.row, new=True)
    return [p.result for p in prepared if p.result is not None]


def _receipts(source: Source, keys: list[str]) -> dict[str, SourceReceipt]:
    found: dict[str, SourceReceipt] = {}
    for part in _chunks(keys):
        for receipt in SourceReceipt.objects.filter(source=source, key__in=part).select_related("message"):
            found[receipt.key] = receipt
    return found


def _earlier(*, field: str, values: list[str], **scope: int) -> dict[str, InboundMessage]:
    found: dict[str, InboundMessage] = {}
    for part in _chunks(sorted(set(values))):
        query = InboundMessage.objects.filter(**scope, **{f"{field}__in": part}).order_by("-pk")
        for message in query:
            found[getattr(message, field)] = message  # the oldest wins (iterated last)
    return found


def _oldest(found: dict[str, InboundMessage], candidates: list[str]) -> InboundMessage | None:
    """The earliest row found under any of a mail's candidate hashes (rows hashed before JEMH_INDEX_KEY count)."""
    rows = [found[h] for h in candidates if h in found]
    return min(rows, key=lambda row: row.pk) if rows else None


def _store_all(instance: Instance, fresh: list[_Prepared], now: datetime) -> list[str]:
    storage = blob_storage()
    stored: list[str] = []
    keep = getattr(instance, "store_raw_mail", True)
    for p in fresh:
        if p.item.oversized and not keep:
            continue  # rejected at once: nothing to process, nothing an opted-out instance keeps
        name = f"inbound/{instance.pk}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.eml"
        try:
            p.row = InboundMessage(raw_blob=_store_raw(storage, name, p.item.raw))
        except Exception as exc:
            discard_blobs(stored, "unrecorded raw mail")
            raise StoreError(f"could not store the raw mail: {exc}") from exc
        stored.append(p.row.raw_blob)
    return stored


def _store_raw(storage: EncryptedStorage, name: str, raw: bytes) -> str:
    """Step 1: the encrypted blob (a separate function so crash tests can stop right after it)."""
    return storage.save_bytes(name, raw)


def _row(source: Source, p: _Prepared, now: datetime) -> InboundMessage:
    instance = source.instance
    row = p.row or InboundMessage()
    summary = p.summary
    row.instance, row.source, row.received_at = instance, source, now
    row.message_id, row.message_id_hash, row.content_hash = summary.message_id, p.message_id_hash, p.content_hash
    row.subject, row.sender, row.recipients = summary.subject, summary.sender, summary.recipients
    row.sender_hash = keyed_hash(summary.sender, purpose="address") if summary.sender else ""
    row.size = p.item.size if p.item.size is not None else len(p.item.raw)
    if p.item.oversized:
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


def _commit_chunk(
    source: Source,
    prepared: list[_Prepared],
    fresh: list[_Prepared],
    duplicates: list[tuple[_Prepared, InboundMessage | None]],
    revalidating: bool,
    now: datetime,
) -> None:
    """Step 2: audit rows and receipts, in one transaction."""
    with transaction.atomic():
        rows = [_row(source, p, now) for p in fresh]
        InboundMessage.objects.bulk_create(rows)
        for p, row in zip(fresh, rows, strict=True):
            p.row = row
        receipts: list[SourceReceipt] = []
        for p in prepared:
            if p.item.key is None or p.result is not None:
                continue
            target = p.row if p.duplicate_of is None else prepared[p.duplicate_of].row
            earlier = next((e for d, e in duplicates if d is p), None)
            receipts.append(SourceReceipt(source=source, key=p.item.key, message=earlier or target))
        SourceReceipt.objects.bulk_create(receipts)
        counted = [e.pk for d, e in duplicates if e is not None and not (revalidating and e.source_id == source.pk)]
        # A duplicate within the chunk points at a fresh item, whose row was written just above.
        counted += [
            first.pk for p in prepared if p.duplicate_of is not None and (first := prepared[p.duplicate_of].row)
        ]
        for pk in counted:
            InboundMessage.objects.filter(pk=pk).update(duplicate_copies=F("duplicate_copies") + 1)
        waiting = [row for row in rows if row.status == InboundStatus.RECEIVED]
        if waiting:
            transaction.on_commit(lambda: _announce(waiting))
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


def _announce(rows: list[InboundMessage]) -> None:
    for _receiver, response in messages_captured.send_robust(sender=InboundMessage, messages=rows):
        if isinstance(response, Exception):
            log.error(
                "a receiver of messages_captured failed for inbound #%s..#%s: %r", rows[0].pk, rows[-1].pk, response
            )
