"""One e-mail address in the inbound audit (a data subject): the rows and raw mails that hold it, for the export,
and their erasure (the row stays, as a count, with every personal field cleared; the raw mail is deleted).

Rows are found by the keyed hash of the sender and, for every other position (To, Cc, Reply-To, the body, an
attachment's name), by reading the instance's rows in batches and looking into their decrypted fields and raw mail:
retention keeps that set small (30 days by default). Hint slots (HintGrace) of the address go too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from django.db import transaction

from inbound.models import HintGrace, InboundMessage, InboundStatus, Outcome
from jemh.crypto import keyed_hash_candidates
from jemh.models import Instance
from jemh.storage import blob_storage, discard_blobs
from jemh.subject import HeldItem, Progress, mentions, quiet

BATCH = 200
ERASED_REPORT = {"erased": "the personal data of this message was erased on request"}


def _raw(message: InboundMessage) -> bytes | None:
    if not message.raw_blob:
        return None
    try:
        return blob_storage().read_bytes(message.raw_blob)
    except OSError:
        return None


def _holds(message: InboundMessage, address: str, hashes: set[str]) -> bool:
    if message.sender_hash and message.sender_hash in hashes:
        return True
    if any(mentions(value, address) for value in (message.sender, message.recipients, message.subject, message.report)):
        return True
    return mentions(_raw(message), address)


def messages_of(instance: Instance, address: str, progress: Progress = quiet) -> Iterator[InboundMessage]:
    """The instance's audit rows that name ``address`` anywhere (headers, body, attachment names, report)."""
    hashes = set(keyed_hash_candidates(address, purpose="address"))
    last, seen = 0, 0
    while True:
        rows = list(InboundMessage.objects.filter(instance=instance, pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        for message in rows:
            if _holds(message, address, hashes):
                yield message
        seen += len(rows)
        last = rows[-1].pk
        progress(f"inbound mail: {seen} rows looked at")


def export_items(messages: list[InboundMessage]) -> list[HeldItem]:
    items = []
    for m in messages:
        raw = _raw(m)
        items.append(
            HeldItem(
                kind="inbound_message",
                id=str(m.pk),
                record={
                    "received_at": m.received_at.isoformat(),
                    "status": m.status,
                    "outcome": m.outcome,
                    "issue_key": m.issue_key,
                    "message_id": m.message_id,
                    "subject": m.subject,
                    "sender": m.sender,
                    "recipients": m.recipients,
                    "report": m.report,
                    "raw_mail": f"inbound/{m.pk}.eml" if raw is not None else None,
                },
                files={f"inbound/{m.pk}.eml": raw} if raw is not None else {},
            )
        )
    return items


def hint_slots(instance: Instance, address: str) -> int:
    return HintGrace.objects.filter(instance=instance, recipient_hash__in=_slot_hashes(address)).count()


def _slot_hashes(address: str) -> list[str]:
    return keyed_hash_candidates(address.strip().lower())


def erase(instance: Instance, messages: list[InboundMessage], address: str) -> Counter[str]:
    """Clear the personal fields of ``messages`` (kept as rows: the audit's counts stay true) and delete their raw
    mail; delete the address's hint slots. Returns counts."""
    counts: Counter[str] = Counter()
    blobs: list[str] = []
    with transaction.atomic():
        for m in messages:
            if m.raw_blob:
                blobs.append(m.raw_blob)
                counts["raw_mails"] += 1
            waiting = m.status in (InboundStatus.RECEIVED, InboundStatus.PROCESSING, InboundStatus.FAILED)
            InboundMessage.objects.filter(pk=m.pk).update(
                message_id="",
                subject="",
                sender="",
                sender_hash="",
                recipients={},
                report=ERASED_REPORT,
                raw_blob="",
                **({"status": InboundStatus.PROCESSED, "outcome": Outcome.DROPPED} if waiting else {}),
            )
            counts["inbound_messages"] += 1
        counts["hint_slots"] = HintGrace.objects.filter(
            instance=instance, recipient_hash__in=_slot_hashes(address)
        ).delete()[0]
    discard_blobs(blobs, "raw mail of an erased address")
    return counts
