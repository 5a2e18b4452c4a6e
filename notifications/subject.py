"""One e-mail address in the outbound audit and the issue events (a data subject): the rows and stored messages
that hold it, for the export, and their erasure (an outbound row stays, as a count, with its personal fields
cleared and its stored message deleted; an issue event's payload and a stored webhook body naming it are dropped).

Outbound rows are found by the keyed hash of the recipient and by looking into the decrypted fields and stored
message of the instance's rows (a notification to someone else may quote the address); retention keeps them few."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from django.db import transaction

from jemh.crypto import keyed_hash_candidates
from jemh.models import Instance
from jemh.storage import blob_storage, discard_blobs
from jemh.subject import HeldItem, Progress, mentions, quiet
from notifications.choices import OutboundStatus
from notifications.models import IssueEvent, OutboundMessage, WebhookDelivery

BATCH = 200
UNSENT = (OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.RETRYING, OutboundStatus.HELD)


def _content(message: OutboundMessage) -> bytes | None:
    if not message.blob_name:
        return None
    try:
        return blob_storage().read_bytes(message.blob_name)
    except OSError:
        return None


def outbound_of(instance: Instance, address: str, progress: Progress = quiet) -> Iterator[OutboundMessage]:
    hashes = set(keyed_hash_candidates(address))
    last, seen = 0, 0
    while True:
        rows = list(OutboundMessage.objects.filter(instance=instance, pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        for m in rows:
            if (
                m.recipient_hash in hashes
                or any(mentions(v, address) for v in (m.recipients, m.subject, m.error))
                or mentions(_content(m), address)
            ):
                yield m
        seen += len(rows)
        last = rows[-1].pk
        progress(f"outbound mail: {seen} rows looked at")


def events_of(instance: Instance, address: str) -> list[IssueEvent]:
    return [
        e
        for e in IssueEvent.objects.filter(instance=instance).order_by("pk")
        if mentions(e.payload, address) or mentions(e.actor, address)
    ]


def deliveries_of(instance: Instance, address: str) -> list[WebhookDelivery]:
    return [d for d in WebhookDelivery.objects.filter(instance=instance).order_by("pk") if mentions(d.body, address)]


def export_items(
    outbound: list[OutboundMessage], events: list[IssueEvent], deliveries: list[WebhookDelivery]
) -> list[HeldItem]:
    items = []
    for m in outbound:
        content = _content(m)
        name = f"outbound/{m.pk}.eml"
        items.append(
            HeldItem(
                kind="outbound_message",
                id=str(m.pk),
                record={
                    "created_at": m.created_at.isoformat(),
                    "mail_kind": m.kind,
                    "status": m.status,
                    "issue_key": m.issue_key,
                    "recipients": m.recipients,
                    "subject": m.subject,
                    "error": m.error,
                    "content": name if content is not None else None,
                },
                files={name: content} if content is not None else {},
            )
        )
    for e in events:
        record = {"event_kind": e.kind, "issue_key": e.issue_key, "occurred_at": e.occurred_at.isoformat()}
        items.append(HeldItem("issue_event", str(e.pk), {**record, "actor": e.actor, "payload": e.payload}))
    for d in deliveries:
        items.append(
            HeldItem("webhook_delivery", str(d.pk), {"received_at": d.received_at.isoformat(), "body": d.body})
        )
    return items


def erase(outbound: list[OutboundMessage], events: list[IssueEvent], deliveries: list[WebhookDelivery]) -> Counter[str]:
    counts: Counter[str] = Counter()
    blobs = [m.blob_name for m in outbound if m.blob_name]
    with transaction.atomic():
        for m in outbound:
            extra = {"status": OutboundStatus.FAILED} if m.status in UNSENT else {}
            OutboundMessage.objects.filter(pk=m.pk).update(
                recipients=[], recipient_hash="", subject="", error="", blob_name="", **extra
            )
        counts["outbound_messages"] = len(outbound)
        counts["outbound_contents"] = len(blobs)
        counts["issue_events"] = IssueEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            payload=None, actor=None
        )
        counts["webhook_bodies"] = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(body="")
    discard_blobs(blobs, "outbound message to an erased address")
    return counts
