"""The retention purge: per instance, what privacy.md says goes after its time (raw inbound mail, inbound audit
rows and failures, hint slots; outbound rows with their content, issue events and stored Jira webhook deliveries, by
their ``expires_at``; the Jira issue states older than their TTL, trackers.jira.issue_state), then orphan
blobs (a blob no row names, older than a day: left by a crash between storing and recording). Each writer app
purges its own models (inbound.retention per instance; notifications.retention, which beat also runs on its
own); this runs them, walks the blob storage and keeps a PurgeRun per instance.

Safe to run while mail is captured and processed, idempotent, and bounded: each step deletes in batches, and a
crash mid-purge leaves only what the next run removes. Scheduled by beat (``auditing.purge``, hourly);
``python manage.py jemh purge [--dry-run]`` runs it by hand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from auditing.models import PurgeRun, SupportFlag
from inbound import retention as inbound_retention
from jemh.models import Instance
from jemh.storage import blob_storage, discard_blobs
from notifications import retention as notification_retention
from trackers.jira import issue_state as issue_states
from trackers.local import attachments as tracker_attachments

ORPHAN_AGE = timedelta(days=1)
# Blob folders and the owners that name their blobs: a folder not listed here is never treated as orphaned.
BLOB_OWNERS: dict[str, Callable[[list[str]], set[str]]] = {
    "inbound/": inbound_retention.referenced_blobs,
    "outbound/": notification_retention.referenced_blobs,
    "tracker/": tracker_attachments.referenced_blobs,
}
Progress = Callable[[str], None]


def purge(
    *, now: datetime | None = None, dry_run: bool = False, batch: int = 500, progress: Progress | None = None
) -> dict[str, Counter[str]]:
    """Purge every instance, then orphan blobs; returns the counts by instance name (and ``orphans``)."""
    now = now or timezone.now()
    say = progress or (lambda text: None)
    report: dict[str, Counter[str]] = {}
    for instance in Instance.objects.order_by("pk"):
        started = timezone.now()
        say(f"{instance.name}: inbound mail ...")
        shared = set(SupportFlag.objects.active().filter(instance=instance).values_list("message_id", flat=True))
        counts = inbound_retention.purge_inbound(instance, now, dry_run=dry_run, batch=batch, keep=shared)
        counts["hint_slots"] = inbound_retention.purge_hint_grace(instance, now, dry_run=dry_run, batch=batch)
        report[instance.name] = counts
        if not dry_run:
            PurgeRun.objects.create(
                instance=instance, started_at=started, finished_at=timezone.now(), counts=dict(sorted(counts.items()))
            )
    say("outbound mail and issue events ...")
    notified = (notification_retention.expired_counts if dry_run else notification_retention.purge_expired)(now)
    deliveries = (
        notification_retention.expired_delivery_count if dry_run else notification_retention.purge_expired_deliveries
    )(now)
    report["outbound mail and issue events"] = Counter(
        {"outbound_rows": notified["outbound"], "event_rows": notified["events"], "webhook_deliveries": deliveries}
    )
    say("Jira issue states ...")
    report["Jira issue states"] = Counter(
        {"expired_issue_states": issue_states.purge_expired(now, dry_run=dry_run, batch=batch)}
    )
    say("orphan blobs ...")
    report["orphans"] = purge_orphan_blobs(now=now, dry_run=dry_run, batch=batch, progress=say)
    return report


def purge_orphan_blobs(
    *, now: datetime | None = None, dry_run: bool = False, batch: int = 500, progress: Progress | None = None
) -> Counter[str]:
    """Remove blobs older than a day that no row names (``orphan_blobs``); returns the count."""
    now = now or timezone.now()
    storage = blob_storage()
    counts: Counter[str] = Counter()
    for folder, referenced in BLOB_OWNERS.items():
        names: list[str] = []

        def settle(names: list[str], referenced: Callable[[list[str]], set[str]] = referenced) -> None:
            known = referenced(names)
            old = [n for n in names if n not in known and now - storage.get_modified_time(n) > ORPHAN_AGE]
            # named again since the check? a row names its blob only after storing it, so a blob older than a
            # day that no row names now belongs to no capture still running
            counts["orphan_blobs"] += len(old)
            if not dry_run:
                discard_blobs(old, "orphan blob")

        for name in storage.walk(folder.rstrip("/")):
            names.append(name)
            if len(names) == batch:
                settle(names)
                names = []
                if progress:
                    progress(f"orphan blobs: {counts['orphan_blobs']} so far")
        if names:
            settle(names)
    return counts


def last_purge(instance: Instance) -> str:
    """For the instance's admin page: when the last purge ran and what it removed."""
    run = PurgeRun.objects.filter(instance=instance).first()
    if run is None:
        return "never"
    removed = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(run.counts.items()) if n) or "nothing"
    return f"{timezone.localtime(run.finished_at):%Y-%m-%d %H:%M}: removed {removed}"
