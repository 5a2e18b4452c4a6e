"""Composing one issue's notifications: resolve the audience of each mapping, render once per set of events, build
one message per recipient (threading headers, reply token), store it encrypted, and prepare its audit row.

Nothing here writes to the database: :mod:`notifications.batching` saves the rows of a whole flush at once. What
all issues of a flush share (mappings, deliveries already made, earlier notifications, our own addresses, the
tracker) is read once per flush into a :class:`FlushContext`.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from jemh.crypto import keyed_hash_candidates
from notifications import threading
from notifications.choices import EventKind
from notifications.messages import MailAttachment, MessageFactory, PreparedMail
from notifications.models import IssueEvent, NotificationDelivery, NotificationMapping, OutboundMessage
from notifications.outbound import new_outbound
from notifications.recipients import (
    Exclusions,
    IssueView,
    audience,
    instance_addresses,
    issue_view_from_snapshot,
    issue_view_from_tracker,
    normalize,
    split_lines,
    valid_address,
)
from notifications.rendering import build_context, mentions_recipient, render, render_acknowledgement
from trackers.errors import NotFound, TrackerError
from trackers.registry import get_tracker

log = logging.getLogger(__name__)
IssueRef = tuple[int, str]  # (instance id, issue key)
NOT_ACKNOWLEDGED = (
    "requester not acknowledged: their mail was not authenticated (set the source's trusted authserv-ids to your "
    "MTA's, so that genuine senders are)"
)


@dataclass
class Mail:
    """One composed notification, not yet saved: its row, the events it covers and the message in memory."""

    outbound: OutboundMessage
    events: list[IssueEvent]
    mail: PreparedMail


@dataclass
class IssueOutcome:
    """What composing one issue's events gave: the mails, and per event how many recipients and why others not."""

    mails: list[Mail] = field(default_factory=list)
    issue_exists: bool = False  # in the tracker (not only a snapshot): our Message-IDs are recorded with it
    recipients_of: Counter[int] = field(default_factory=Counter)
    skipped_why: dict[int, Counter[str]] = field(default_factory=dict)


@dataclass
class IssueData:
    view: IssueView | None
    comments: dict[str, Any]
    tracker: Any
    accounts_by_email: dict[str, set[str]]


class FlushContext:
    """What the issues of one flush share, each read with one query for all of them."""

    def __init__(self, events: Sequence[IssueEvent]) -> None:
        instances = {e.instance_id: e.instance for e in events}
        issues = {(e.instance_id, e.issue_key) for e in events}
        self.mappings: dict[int, list[NotificationMapping]] = {pk: [] for pk in instances}
        for mapping in NotificationMapping.objects.filter(instance_id__in=list(instances), enabled=True).order_by("id"):
            self.mappings[mapping.instance_id].append(mapping)
        self.taken: set[tuple[int, str]] = set(
            NotificationDelivery.objects.filter(event__in=[e.pk for e in events]).values_list(
                "event_id", "recipient_hash"
            )
        )
        self.previous: dict[IssueRef, list[tuple[str, str, datetime]]] = {ref: [] for ref in issues}
        by_instance: dict[int, list[str]] = {}
        for instance_id, issue_key in issues:
            by_instance.setdefault(instance_id, []).append(issue_key)
        threads = Q()
        for instance_id, keys in by_instance.items():
            threads |= Q(instance_id=instance_id, issue_key__in=keys)
        for instance_id, issue_key, message_id, rh, created in (
            OutboundMessage.objects.filter(threads)
            .order_by("created_at", "id")
            .values_list("instance_id", "issue_key", "message_id", "recipient_hash", "created_at")
        ):
            self.previous[(instance_id, issue_key)].append((message_id, rh, created))
        self.addresses = {pk: instance_addresses(pk) for pk in instances}
        self.trackers = {pk: get_tracker(instance) for pk, instance in instances.items()}  # projects cached per flush
        self.issues: dict[int, dict[str, Any]] = {  # every issue of the flush, with one tracker call per instance
            instance_id: self.trackers[instance_id].find_issues(keys) for instance_id, keys in by_instance.items()
        }


def compose_issue(events: list[IssueEvent], ctx: FlushContext, saved_blobs: list[str]) -> IssueOutcome:
    """The notifications of one issue's claimed events (stored blobs are listed in ``saved_blobs``)."""
    instance = events[0].instance
    issue_key = events[0].issue_key
    data = issue_data(ctx.trackers[instance.pk], issue_key, events, found=ctx.issues[instance.pk])
    previous_rows = ctx.previous[(instance.pk, issue_key)]
    since = previous_rows[-1][2] if previous_rows else None
    own, default_reply = ctx.addresses[instance.pk]
    outcome = IssueOutcome(
        issue_exists=data.view is not None and data.view.exists, skipped_why={e.pk: Counter() for e in events}
    )
    skipped_why = outcome.skipped_why
    for mapping in ctx.mappings[instance.pk]:
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
        factories: dict[tuple[tuple[int, ...], bool], MessageFactory] = {}
        shared = not mentions_recipient(mapping)  # the same events render the same mail for everyone
        acknowledged = requester(mapping, wanted)
        if acknowledged is None and mapping.acknowledge_requester:
            for e in wanted:
                if _request(e) and not (e.payload or {}).get("acknowledge_to"):
                    skipped_why[e.pk][NOT_ACKNOWLEDGED] += 1
        addresses = audience(mapping, data.view)
        if acknowledged is not None and acknowledged[0] not in addresses:
            addresses.append(acknowledged[0])
        for address in addresses:
            why = exclusions.reason(address)
            if why:
                for e in wanted:
                    skipped_why[e.pk][f"excluded ({why})"] += 1
                continue
            hashes = keyed_hash_candidates(address)  # rows made before JEMH_INDEX_KEY carry a legacy hash
            rh = hashes[0]
            mine = []
            for e in wanted:
                if any((e.pk, h) in ctx.taken for h in hashes):
                    continue
                acknowledging = acknowledged is not None and acknowledged == (address, e)
                if mapping.skip_actor and not acknowledging and _made_by(e, address, data):
                    skipped_why[e.pk]["made the change themselves"] += 1
                    continue
                mine.append(e)
            if not mine:
                continue
            ctx.taken.update((e.pk, rh) for e in mine)
            ids = tuple(e.pk for e in mine)
            ack = acknowledged is not None and acknowledged[0] == address and acknowledged[1] in mine
            factory = factories.get((ids, ack)) if shared else None
            if factory is None:
                context = build_context(
                    instance=instance,
                    issue=data.view,
                    events=mine,
                    recipient=address,
                    comments=data.comments,
                    attachments=[{"filename": a.filename} for a in attachments],
                    skipped_attachments=too_large,
                    can_reply=bool(reply_address),
                )
                factory = factories[(ids, ack)] = MessageFactory(
                    instance_id=instance.pk,
                    issue_key=issue_key,
                    rendered=render_acknowledgement(mapping, context) if ack else render(mapping, context),
                    from_address=mapping.from_address,
                    reply_address=reply_address,
                    attachments=attachments,
                )
            previous_ids = [m for m, r, _ in previous_rows if r in hashes]  # what this recipient already got
            outcome.mails.append(_compose(instance, mapping, factory, address, rh, mine, previous_ids, saved_blobs))
            for e in mine:
                outcome.recipients_of[e.pk] += 1
    return outcome


def remember_message_ids(ctx: FlushContext, outcomes: dict[IssueRef, IssueOutcome]) -> None:
    """Record our Message-IDs with their issues (those the tracker still has), one tracker call per issue."""
    for (instance_id, issue_key), outcome in outcomes.items():
        if outcome.issue_exists and outcome.mails:
            _remember_message_ids(ctx.trackers[instance_id], issue_key, [m.outbound.message_id for m in outcome.mails])


def issue_data(
    tracker: Any, issue_key: str, events: Sequence[IssueEvent], found: Mapping[str, Any] | None = None
) -> IssueData:
    """What composing needs of the issue; ``found`` holds issues already looked up (by key), if any."""
    issue = found.get(issue_key) if found is not None else tracker.find_issue(issue_key)
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
        snapshot = next(
            ((e.payload or {}).get("issue") for e in reversed(events) if (e.payload or {}).get("issue")), None
        )
        if snapshot:
            view = issue_view_from_snapshot(issue_key, snapshot)
    accounts: dict[str, set[str]] = {}
    if view is not None:
        for person in (view.reporter, view.assignee, view.project_lead, *view.watchers):
            if person and person.email and person.account_id:
                accounts.setdefault(person.email.lower(), set()).add(person.account_id)
    return IssueData(view, comments, tracker, accounts)


def requester(mapping: NotificationMapping, events: Sequence[IssueEvent]) -> tuple[str, IssueEvent] | None:
    """Who the mapping acknowledges among ``events``: the person whose mail created the issue (their address, and
    the creation event), when the mapping acknowledges requests. Only a creation from mail (the event names the
    inbound message) that was not automated (auto-reply, bounce, bulk, list, loop, spam: see the pipeline's action)
    is acknowledged; a creation in the admin or by the system is not a request. The address is the one the pipeline
    would send a hint to (the authenticated From or envelope sender): a From that nothing authenticated is anyone's
    to forge, and acknowledging it would mail a stranger (backscatter)."""
    if not mapping.acknowledge_requester:
        return None
    for event in events:
        if not _request(event):
            continue
        address = normalize((event.payload or {}).get("acknowledge_to") or "")
        if address and valid_address(address):
            return address, event
    return None


def _request(event: IssueEvent) -> bool:
    """The event is an issue's creation from mail that was not automated."""
    payload = event.payload or {}
    return (
        event.kind == EventKind.CREATED
        and payload.get("source_message_id") is not None
        and not payload.get("automated_mail")
    )


def _made_by(event: IssueEvent, address: str, data: IssueData) -> bool:
    actor = event.actor or {}
    if actor.get("email") and actor["email"].strip().lower() == address:
        return True
    return bool(actor.get("account_id")) and actor["account_id"] in data.accounts_by_email.get(address, set())


def _attachments(
    mapping: NotificationMapping, data: IssueData, issue_key: str, since: datetime | None
) -> tuple[list[MailAttachment], list[dict[str, Any]]]:
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
        chosen.append(
            MailAttachment(
                item.filename,
                data.tracker.read_attachment(issue_key, item.id),
                item.content_type or "application/octet-stream",
            )
        )
    return chosen, skipped


def _compose(
    instance: Any,
    mapping: NotificationMapping,
    factory: MessageFactory,
    address: str,
    rh: str,
    events: list[IssueEvent],
    previous_ids: list[str],
    saved_blobs: list[str],
) -> Mail:
    message_id = threading.new_message_id(instance.pk, factory.issue_key)
    raw = factory.build(address, message_id, previous_ids)
    outbound = new_outbound(
        instance,
        raw=raw,
        recipient=address,
        recipient_hash=rh,
        subject=factory.rendered.subject,
        message_id=message_id,
        saved_blobs=saved_blobs,
        issue_key=factory.issue_key,
        mapping=mapping,
    )
    return Mail(outbound, events, PreparedMail(raw, factory.sender, (address,)))


def _remember_message_ids(tracker: Any, issue_key: str, message_ids: list[str]) -> None:
    """Record our Message-IDs with the issue: in one call when the tracker offers ``record_message_ids``."""
    try:
        many = getattr(tracker, "record_message_ids", None)
        if many is not None:
            many(issue_key, message_ids, kind="outbound")
        else:
            for message_id in message_ids:
                tracker.record_message_id(issue_key, message_id, kind="outbound")
    except TrackerError as exc:  # association still works through the Message-ID's own encoding
        log.warning("Message-IDs of notifications for %s not recorded with the issue: %s", issue_key, exc)
