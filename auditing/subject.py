"""Everything held about one e-mail address (a data subject), per instance: the export (a zip holding a JSON manifest
and the stored mail) and the erasure, which leaves an :class:`~auditing.models.ErasureRecord` with counts only.

What is looked at: the inbound audit rows and raw mail (by the sender's keyed hash, and every other position read
from the decrypted rows and mail), outbound rows and their stored content, issue events and stored webhook bodies,
test cases, support flags and their snapshots, and the tracker (through ``Tracker.find_subject`` /
``erase_subject``: the issues where the address is the e-mail-only reporter or a participant, and the comments it
wrote; also the issues its mail went to). Each writer app finds and erases its own rows; this gathers them.

After an erasure, looking the address up again finds nothing: every field that held it is cleared, every blob
deleted, and no list of erased addresses is kept (it would itself be personal data). Mail that arrives from the
address later is new mail, handled and kept like any other (see README, "Privacy")."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from auditing.models import ErasureRecord, RawMailAccess, SupportFlag
from inbound import subject as inbound_subject
from inbound.models import InboundMessage
from jemh.models import Instance
from jemh.storage import blob_storage, discard_blobs
from jemh.subject import HeldItem, Progress, mentions, quiet
from notifications import subject as notification_subject
from notifications.models import IssueEvent, OutboundMessage, WebhookDelivery
from profiles import subject as profile_subject
from profiles.models import TestCase
from trackers.interface import SubjectHoldings
from trackers.registry import get_tracker


class NotAnAddress(ValueError):
    """What was given is not an e-mail address."""


def clean_address(address: str) -> str:
    value = address.strip()
    if "@" not in value or any(c.isspace() for c in value) or len(value) < 3:
        raise NotAnAddress(f"{address!r} is not an e-mail address; give one like name@example.org")
    return value


@dataclass
class Holdings:
    """Everything one instance holds about one address."""

    address: str
    instance: Instance
    inbound: list[InboundMessage] = field(default_factory=list)
    outbound: list[OutboundMessage] = field(default_factory=list)
    events: list[IssueEvent] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    test_cases: list[TestCase] = field(default_factory=list)
    flags: list[SupportFlag] = field(default_factory=list)
    tracker: SubjectHoldings = field(default_factory=SubjectHoldings)
    issue_keys: list[str] = field(default_factory=list)  # issues the address's mail went to

    def counts(self) -> dict[str, int]:
        return {
            "inbound_messages": len(self.inbound),
            "raw_mails": sum(1 for m in self.inbound if m.raw_blob),
            "outbound_messages": len(self.outbound),
            "issue_events": len(self.events),
            "webhook_deliveries": len(self.deliveries),
            "test_cases": len(self.test_cases),
            "support_flags": len(self.flags),
            "issues_reported": len(self.tracker.reported),
            "issues_participating": len(self.tracker.participating),
            "comments": len(self.tracker.comments),
        }


def find(instance: Instance, address: str, progress: Progress = quiet) -> Holdings:
    """Look everything up (with progress: the audit is read row by row)."""
    address = clean_address(address)
    held = Holdings(address=address, instance=instance)
    held.inbound = list(inbound_subject.messages_of(instance, address, progress))
    held.outbound = list(notification_subject.outbound_of(instance, address, progress))
    progress("issue events, webhook deliveries, test cases and support flags ...")
    held.events = notification_subject.events_of(instance, address)
    held.deliveries = notification_subject.deliveries_of(instance, address)
    ids = {m.pk for m in held.inbound}
    held.test_cases = profile_subject.test_cases_of(instance, address, ids)
    held.flags = [
        f
        for f in SupportFlag.objects.filter(instance=instance).order_by("pk")
        if f.message_id in ids or mentions(f.reason, address) or any(_blob_mentions(n, address) for n in f.blobs)
    ]
    held.issue_keys = sorted({m.issue_key for m in held.inbound if m.issue_key})
    progress("the tracker ...")
    held.tracker = get_tracker(instance).find_subject(address, issue_keys=held.issue_keys)
    progress("done: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in held.counts().items() if n))
    return held


def _blob_mentions(name: str, address: str) -> bool:
    try:
        return mentions(blob_storage().read_bytes(name), address)
    except OSError:
        return False


def _flag_items(flags: list[SupportFlag]) -> list[HeldItem]:
    items = []
    for f in flags:
        files = {}
        for name in f.blobs:
            try:
                files[f"support/{f.pk}/{name.rsplit('/', 1)[-1]}"] = blob_storage().read_bytes(name)
            except OSError:
                continue
        record = {"message": f.message_id, "reason": f.reason, "flagged_at": f.flagged_at.isoformat(), "state": f.state}
        items.append(HeldItem("support_flag", str(f.pk), {**record, "files": sorted(files)}, files))
    return items


def _tracker_items(holdings: SubjectHoldings) -> list[HeldItem]:
    def issue(i: Any, role: str) -> HeldItem:
        record = {
            "role": role,
            "summary": i.summary,
            "description": i.description,
            "email_sender_address": i.email_sender_address,
            "email_sender_name": i.email_sender_name,
            "email_participants": list(i.email_participants),
            "created_at": i.created_at.isoformat(),
        }
        return HeldItem("issue", i.key, record)

    items = [issue(i, "e-mail-only reporter") for i in holdings.reported]
    items += [issue(i, "e-mail-only participant") for i in holdings.participating]
    items += [
        HeldItem(
            "comment",
            f"{c.issue_key}/{c.id}",
            {
                "issue_key": c.issue_key,
                "author_email": c.author_email,
                "author_name": c.author_name,
                "body": c.body,
                "created_at": c.created_at.isoformat(),
            },
        )
        for c in holdings.comments
    ]
    return items


def export_zip(found: list[Holdings]) -> bytes:
    """The export: ``manifest.json`` (per instance, every item with its decrypted fields) and, under a folder per
    instance, the stored mail the items name."""
    instances = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for held in found:
            items = [
                *inbound_subject.export_items(held.inbound),
                *notification_subject.export_items(held.outbound, held.events, held.deliveries),
                *profile_subject.export_items(held.test_cases),
                *_flag_items(held.flags),
                *_tracker_items(held.tracker),
            ]
            folder = f"instance-{held.instance.pk}/"
            instances.append(
                {
                    "instance": held.instance.name,
                    "files_in": folder,
                    "counts": held.counts(),
                    "items": [{**i.record, "kind": i.kind, "id": i.id} for i in items],
                }
            )
            for item in items:
                for name, data in item.files.items():
                    archive.writestr(folder + name, data)
        manifest = {
            "address": found[0].address if found else "",
            "exported_at": timezone.now().isoformat(),
            "instances": instances,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    return buffer.getvalue()


def erase(held: Holdings, *, by: Any = None, redact_texts: bool = False, progress: Progress = quiet) -> ErasureRecord:
    """Erase everything ``held`` found and leave the erasure record (counts only)."""
    counts: Counter[str] = Counter()
    progress("the tracker ...")
    tracker_counts = get_tracker(held.instance).erase_subject(
        held.address, issue_keys=held.issue_keys, redact_texts=redact_texts
    )
    counts.update({f"tracker_{k}": v for k, v in tracker_counts.as_counts().items()})
    progress("inbound mail ...")
    counts.update(inbound_subject.erase(held.instance, held.inbound, held.address))
    progress("outbound mail and events ...")
    counts.update(notification_subject.erase(held.outbound, held.events, held.deliveries))
    counts["test_cases"] = profile_subject.erase(held.test_cases)
    blobs = [n for f in held.flags for n in f.blobs]
    with transaction.atomic():
        now = timezone.now()
        for f in held.flags:
            SupportFlag.objects.filter(pk=f.pk).update(
                reason="", raw_blob="", report_blob="", profile_blob="", withdrawn_at=f.withdrawn_at or now
            )
        counts["support_flags"] = len(held.flags)
        counts["raw_mail_reads"] = RawMailAccess.objects.filter(message_id__in=[m.pk for m in held.inbound]).update(
            detail=""
        )
        record = ErasureRecord.objects.create(
            instance=held.instance,
            erased_by=by if getattr(by, "pk", None) else None,
            erased_by_name=getattr(by, "get_username", lambda: "command line")() if by is not None else "command line",
            texts_redacted=redact_texts,
            counts={k: v for k, v in sorted(counts.items()) if v},
        )
    discard_blobs(blobs, "support snapshot of an erased address")
    return record
