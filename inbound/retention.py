"""How long inbound mail is kept: the raw mail after ``raw_mail_retention_days``, the audit row after
``audit_retention_days``, and rows that ended in ``error`` or ``failed`` after ``failure_retention_days`` (the
instance's settings; see ../shared/docs/privacy.md). Run by the purge (auditing.retention).

A message still ``received`` or ``processing`` is never touched. Work goes in bounded batches, each committed
durably before its blobs are removed: a crash between the two leaves an orphan blob (removed by the orphan purge
a day later), never a row pointing at a removed blob."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet

from inbound.models import HintGrace, InboundMessage, InboundStatus
from jemh.models import Instance
from jemh.storage import discard_blobs

WAITING = (InboundStatus.RECEIVED, InboundStatus.PROCESSING)
FAILURES = (InboundStatus.ERROR, InboundStatus.FAILED)


def raw_kept_until(instance: Instance, message: InboundMessage) -> datetime | None:
    """When the message's raw mail goes (None: not kept, or kept while the message waits or is retried)."""
    if not message.raw_blob:
        return None
    days = (
        instance.failure_retention_days if message.status == InboundStatus.FAILED else instance.raw_mail_retention_days
    )
    return message.received_at + timedelta(days=days)


def _durably() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO ON")


def _raw_due(instance: Instance, now: datetime) -> QuerySet[InboundMessage]:
    # a message waiting to be retried (failed) keeps its mail as long as its row: it is still to be processed
    ordinary = Q(received_at__lt=now - timedelta(days=instance.raw_mail_retention_days)) & ~Q(
        status__in=(*WAITING, InboundStatus.FAILED)
    )
    failed = Q(status=InboundStatus.FAILED, received_at__lt=now - timedelta(days=instance.failure_retention_days))
    return InboundMessage.objects.filter(ordinary | failed, instance=instance).exclude(raw_blob="")


def _rows_due(instance: Instance, now: datetime) -> QuerySet[InboundMessage]:
    settled = Q(received_at__lt=now - timedelta(days=instance.audit_retention_days)) & ~Q(
        status__in=(*WAITING, *FAILURES)
    )
    failures = Q(status__in=FAILURES, received_at__lt=now - timedelta(days=instance.failure_retention_days))
    return InboundMessage.objects.filter(settled | failures, instance=instance)


def purge_inbound(
    instance: Instance, now: datetime, *, dry_run: bool = False, batch: int = 500, keep: Collection[int] = ()
) -> Counter[str]:
    """Purge what the instance's retention settings say has gone; returns counts: ``raw_mail`` (raw mails
    removed from rows that stay), ``audit_rows`` and ``failed_rows`` (rows deleted, with their raw mail). Rows
    in ``keep`` stay whole (a message shared with support keeps its row until its flag ends)."""
    counts: Counter[str] = Counter()
    rows = _rows_due(instance, now).exclude(pk__in=list(keep))
    if dry_run:
        failures = rows.filter(status__in=FAILURES).count()
        counts["audit_rows"], counts["failed_rows"] = rows.count() - failures, failures
        counts["raw_mail"] = (
            _raw_due(instance, now).exclude(pk__in=list(keep)).exclude(pk__in=rows.values("pk")).count()
        )
        return counts
    while True:
        ids = list(rows.order_by("received_at", "pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            _durably()
            # still due (not taken up again meanwhile) and not in a worker's hands
            locked = rows.filter(pk__in=ids).select_for_update(skip_locked=True)
            chunk = list(locked.values_list("pk", "raw_blob", "status"))
            InboundMessage.objects.filter(pk__in=[pk for pk, _, _ in chunk]).delete()
        if not chunk:
            break
        discard_blobs([blob for _, blob, _ in chunk], "raw mail of a purged audit row")
        failed = sum(1 for _, _, status in chunk if status in FAILURES)
        counts["failed_rows"] += failed
        counts["audit_rows"] += len(chunk) - failed
    raw = _raw_due(instance, now).exclude(pk__in=list(keep))
    while True:
        pending = list(raw.order_by("received_at", "pk").values_list("pk", "raw_blob")[:batch])
        if not pending:
            break
        with transaction.atomic():
            _durably()
            # only rows still settled and still naming that blob (a re-run since may have changed them)
            cleared = [
                blob
                for pk, blob in pending
                if InboundMessage.objects.filter(pk=pk, raw_blob=blob).exclude(status__in=WAITING).update(raw_blob="")
            ]
        discard_blobs(cleared, "raw mail past its retention")
        counts["raw_mail"] += len(cleared)
        if not cleared:
            break  # every one changed meanwhile (being processed again): the next run looks again
    return counts


def purge_hint_grace(instance: Instance, now: datetime, *, dry_run: bool = False, batch: int = 500) -> int:
    """Delete the instance's hint slots (a recipient's keyed hash and when a hint last went there) older than its
    ``audit_retention_days`` and older than the longest hint grace period of its profiles (a slot still inside a
    grace period is still needed); returns how many went (or would go)."""
    from profiles.models import Profile

    longest = Profile.objects.filter(instance=instance).aggregate(m=Max("hint_grace_hours"))["m"] or 0
    cutoff = now - max(timedelta(days=instance.audit_retention_days), timedelta(hours=longest))
    due = HintGrace.objects.filter(instance=instance, sent_at__lt=cutoff)
    if dry_run:
        return due.count()
    removed = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:batch]):
        removed += HintGrace.objects.filter(pk__in=ids, sent_at__lt=cutoff).delete()[0]
    return removed


def referenced_blobs(names: Iterable[str]) -> set[str]:
    """Which of ``names`` an inbound row still names (for the orphan purge)."""
    wanted = list(names)
    return set(InboundMessage.objects.filter(raw_blob__in=wanted).values_list("raw_blob", flat=True))
