"""Turning an issue's due events into one mail per recipient: claim, resolve recipients, render, queue.

:func:`flush_issue` claims the issue's pending events whose batch window has ended with one conditional
UPDATE (``pending`` → ``processing`` under a fresh batch token), so two workers — on PostgreSQL, SQLite or any
broker — never handle the same event. Everything after the claim happens in the same transaction: a crash rolls
the claim back and the next flush (or the sweeper) does the work again. Each (event, recipient) pair becomes a
:class:`NotificationDelivery` row with a unique constraint, the final guard against sending anything twice.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from jemh.crypto import keyed_hash
from jemh.storage import blob_storage
from notifications import threading
from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, NotificationDelivery, NotificationMapping, OutboundMessage
from notifications.recipients import (
    Exclusions,
    IssueView,
    audience,
    instance_addresses,
    issue_view_from_snapshot,
    issue_view_from_tracker,
    split_lines,
)
from notifications.rendering import RenderedMail, build_context, mentions_recipient, render
from notifications.sending import MailAttachment, PreparedMail, build_message

log = logging.getLogger(__name__)


@dataclass
class FlushResult:
    events: int = 0
    outbound_ids: list[int] = field(default_factory=list)
    prepared: dict[int, PreparedMail] = field(default_factory=dict)  # the queued messages, still in memory


@dataclass
class _IssueData:
    view: IssueView | None
    comments: dict[str, Any]
    tracker: Any
    accounts_by_email: dict[str, set[str]]


def _temporary(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) or bool(getattr(exc, "retryable", False))


def flush_issue(instance_id: int, issue_key: str, *, now: datetime | None = None) -> FlushResult:
    """Notify about every event of the issue whose window has ended; a no-op when there is none.

    Returns the ids of the OutboundMessages queued (committed); the caller sends them (the flush task does so at
    once over one SMTP connection, see :func:`notifications.sending.send_many`); the sweeper sends any left.

    Temporary problems (database, tracker busy) are raised so the caller retries; anything else marks the
    claimed events ``failed`` with the reason.
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    saved_blobs: list[str] = []
    due = IssueEvent.objects.filter(instance_id=instance_id, issue_key=issue_key, status=EventStatus.PENDING,
                                    due_at__lte=now)
    if not due.exists():  # the common no-op (another flush took the batch): one query, no transaction
        return FlushResult()
    try:
        with transaction.atomic():
            claimed = due.update(status=EventStatus.PROCESSING, batch_token=token)
            if not claimed:
                return FlushResult()
            events = list(IssueEvent.objects.filter(batch_token=token).select_related("instance")
                          .order_by("occurred_at", "id"))
            prepared = _notify(events, saved_blobs)
            return FlushResult(len(events), list(prepared), prepared)
    except Exception as exc:
        for name in saved_blobs:
            _forget_blob(name)
        if _temporary(exc):
            raise
        log.exception("notifications for %s failed", issue_key)
        IssueEvent.objects.filter(instance_id=instance_id, issue_key=issue_key, status=EventStatus.PENDING,
                                  due_at__lte=now).update(
            status=EventStatus.FAILED, processed_at=timezone.now(),
            reason=f"Could not prepare notifications ({type(exc).__name__}: {exc}). Fix the cause (e.g. the "
                   "mapping's templates) and re-run the event from the admin.")
        return FlushResult()


def _forget_blob(name: str) -> None:
    try:
        blob_storage().delete(name)
    except Exception:
        log.warning("orphaned outbound blob %s could not be deleted", name)


def _issue_data(instance: Any, issue_key: str, events: Sequence[IssueEvent]) -> _IssueData:
    from trackers.errors import NotFound
    from trackers.registry import get_tracker

    tracker = get_tracker(instance)
    issue = tracker.find_issue(issue_key)
    view: IssueView | None = None
    comments: dict[str, Any] = {}
    if issue is not None:
        lead = None
        with contextlib.suppress(NotFound):
            lead = tracker.get_project(issue.project_key).lead
        view = issue_view_from_tracker(issue, lead)
        if any((e.payload or {}).get("comment_id") and not (e.payload or {}).get("comment") for e in events):
            comments = {str(c.id): c for c in tracker.list_comments(issue_key)}
    else:
        snapshot = next(((e.payload or {}).get("issue") for e in reversed(events) if (e.payload or {}).get("issue")),
                        None)
        if snapshot:
            view = issue_view_from_snapshot(issue_key, snapshot)
    accounts: dict[str, set[str]] = {}
    if view is not None:
        for person in (view.reporter, view.assignee, view.project_lead, *view.watchers):
            if person and person.email and person.account_id:
                accounts.setdefault(person.email.lower(), set()).add(person.account_id)
    return _IssueData(view, comments, tracker, accounts)


def _made_by(event: IssueEvent, address: str, data: _IssueData) -> bool:
    actor = event.actor or {}
    if actor.get("email") and actor["email"].strip().lower() == address:
        return True
    return bool(actor.get("account_id")) and actor["account_id"] in data.accounts_by_email.get(address, set())


def _attachments(mapping: NotificationMapping, data: _IssueData, issue_key: str,
                 since: datetime | None) -> tuple[list[MailAttachment], list[dict[str, Any]]]:
    if not mapping.include_attachments or data.view is None or not data.view.exists:
        return [], []
    budget = mapping.attachment_max_bytes
    chosen: list[MailAttachment] = []
    skipped: list[dict[str, Any]] = []
    for item in data.tracker.list_attachments(issue_key):
        if since is not None and item.created_at <= since:
            continue
        if item.size > budget:
            skipped.append({"filename": item.filename, "size": item.size})
            continue
        budget -= item.size
        chosen.append(MailAttachment(item.filename, data.tracker.read_attachment(issue_key, item.id),
                                     item.content_type or "application/octet-stream"))
    return chosen, skipped


@dataclass
class _Mail:
    """One composed notification, not yet saved: its row, the events it covers and the message in memory."""

    outbound: OutboundMessage
    events: list[IssueEvent]
    mail: PreparedMail


def _notify(events: list[IssueEvent], saved_blobs: list[str]) -> dict[int, PreparedMail]:
    instance = events[0].instance
    issue_key = events[0].issue_key
    data = _issue_data(instance, issue_key, events)
    mappings = list(NotificationMapping.objects.filter(instance=instance, enabled=True).order_by("id"))
    taken = set(NotificationDelivery.objects.filter(event__in=events).values_list("event_id", "recipient_hash"))
    previous_rows = list(OutboundMessage.objects.filter(instance=instance, issue_key=issue_key)
                         .order_by("created_at", "id").values_list("message_id", "recipient_hash", "created_at"))
    since = previous_rows[-1][2] if previous_rows else None
    own, default_reply = instance_addresses(instance.pk)
    skipped_why: dict[int, Counter[str]] = {e.pk: Counter() for e in events}
    mails: list[_Mail] = []
    recipients_of: dict[int, int] = Counter()
    for mapping in mappings:
        wanted = [e for e in events if mapping.wants(e.project_key, e.kind)]
        if not wanted:
            continue
        if data.view is None:
            for e in wanted:
                skipped_why[e.pk]["the issue no longer exists and the event has no snapshot of its people"] += 1
            continue
        exclusions = Exclusions(tuple(split_lines(mapping.exclude_patterns)), own.own_addresses, own.own_regexes)
        attachments, too_large = _attachments(mapping, data, issue_key, since)
        reply_address = mapping.reply_address or default_reply
        renders: dict[tuple[int, ...], RenderedMail] = {}
        shared = not mentions_recipient(mapping)  # the same events render the same mail for everyone
        for address in audience(mapping, data.view):
            why = exclusions.reason(address)
            if why:
                for e in wanted:
                    skipped_why[e.pk][f"excluded ({why})"] += 1
                continue
            rh = keyed_hash(address)
            mine = []
            for e in wanted:
                if (e.pk, rh) in taken:
                    continue
                if mapping.skip_actor and _made_by(e, address, data):
                    skipped_why[e.pk]["made the change themselves"] += 1
                    continue
                mine.append(e)
            if not mine:
                continue
            taken.update((e.pk, rh) for e in mine)
            ids = tuple(e.pk for e in mine)
            rendered = renders.get(ids) if shared else None
            if rendered is None:
                context = build_context(
                    instance=instance, issue=data.view, events=mine, recipient=address, comments=data.comments,
                    attachments=[{"filename": a.filename} for a in attachments], skipped_attachments=too_large,
                    can_reply=bool(reply_address))
                rendered = renders[ids] = render(mapping, context)
            previous_ids = [m for m, r, _ in previous_rows if r == rh]  # what this recipient already got
            mails.append(_compose(instance, mapping, issue_key, address, rh, mine, rendered, previous_ids,
                                  reply_address, attachments, saved_blobs))
            for e in mine:
                recipients_of[e.pk] += 1
    _save(mails)
    if data.view is not None and data.view.exists and mails:
        _remember_message_ids(data.tracker, issue_key, [m.outbound.message_id for m in mails])
    now = timezone.now()
    for e in events:
        if recipients_of[e.pk]:
            e.status, e.reason = EventStatus.NOTIFIED, f"Notification queued for {recipients_of[e.pk]} recipient(s)."
        else:
            details = ", ".join(f"{n} {why}" for why, n in sorted(skipped_why[e.pk].items()))
            e.status = EventStatus.IGNORED
            e.reason = "Nobody to notify" + (f" ({details})." if details else ": the audience is empty.")
        e.processed_at = now
    outcomes: dict[tuple[str, str], list[int]] = {}
    for e in events:  # one UPDATE per distinct outcome (usually one or two per batch)
        outcomes.setdefault((e.status, e.reason), []).append(e.pk)
    for (status, reason), pks in outcomes.items():
        IssueEvent.objects.filter(pk__in=pks).update(status=status, reason=reason, processed_at=now)
    return {m.outbound.pk: m.mail for m in mails}


def _compose(instance: Any, mapping: NotificationMapping, issue_key: str, address: str, rh: str,
             events: list[IssueEvent], rendered: RenderedMail, previous_ids: list[str], reply_address: str,
             attachments: list[MailAttachment], saved_blobs: list[str]) -> _Mail:
    message_id = threading.new_message_id(instance.pk, issue_key)
    email = build_message(instance_id=instance.pk, issue_key=issue_key, recipient=address, rendered=rendered,
                          message_id=message_id, previous_ids=previous_ids, from_address=mapping.from_address,
                          reply_address=reply_address, attachments=attachments)
    raw = email.message().as_bytes()
    now = timezone.now()
    name = blob_storage().save_bytes(f"outbound/{instance.pk}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.eml", raw)
    saved_blobs.append(name)
    outbound = OutboundMessage(
        instance=instance, mapping=mapping, issue_key=issue_key, recipients=[address], recipient_hash=rh,
        subject=rendered.subject, message_id=message_id, status=OutboundStatus.QUEUED, blob_name=name,
        keep_blob=instance.store_outbound_mail, created_at=now,
        expires_at=now + timedelta(days=instance.outbound_retention_days))
    sender = parseaddr(email.from_email)[1] or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return _Mail(outbound, events, PreparedMail(raw, sender, (address,)))


def _save(mails: list[_Mail]) -> None:
    """The batch's OutboundMessage rows and their (event, recipient) delivery records, in two INSERTs."""
    if not mails:
        return
    rows = [m.outbound for m in mails]
    if connection.features.can_return_rows_from_bulk_insert:
        OutboundMessage.objects.bulk_create(rows)
    else:
        for row in rows:
            row.save()
    NotificationDelivery.objects.bulk_create(
        [NotificationDelivery(event=e, outbound=m.outbound, recipient_hash=m.outbound.recipient_hash)
         for m in mails for e in m.events])


def _remember_message_ids(tracker: Any, issue_key: str, message_ids: list[str]) -> None:
    """Record our Message-IDs with the issue: in one call when the tracker offers ``record_message_ids``."""
    from trackers.errors import TrackerError

    try:
        many = getattr(tracker, "record_message_ids", None)
        if many is not None:
            many(issue_key, message_ids, kind="outbound")
        else:
            for message_id in message_ids:
                tracker.record_message_id(issue_key, message_id, kind="outbound")
    except TrackerError as exc:  # association still works through the Message-ID's own encoding
        log.warning("Message-IDs of notifications for %s not recorded with the issue: %s", issue_key, exc)
