"""Turning a stored Jira webhook delivery into an issue event (the work of the task ``notifications.jira_webhook``).

The body is read again, the issue found when the body names it only by id (Data Center ``comment_created``), our
own changes attributed to the sender of the mail that made them (:mod:`notifications.webhooks.own_changes`), and
the event recorded by :func:`notifications.intake.record_event`, the local tracker's way in, so mappings, batching,
threading and the outbound audit treat it as any other. The body is discarded in the same transaction.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.choices import DeliveryStatus, EventKind, EventSource, EventStatus
from notifications.intake import InvalidEvent, record_event, wanting_mappings
from notifications.mapping_cache import UnknownInstance
from notifications.models import IssueEvent, WebhookDelivery
from notifications.webhooks import own_changes
from notifications.webhooks.events import MalformedWebhook, WebhookEvent, read
from trackers.errors import TemporaryTrackerError, TrackerError
from trackers.jira.issue_state import forget_issue
from trackers.registry import get_tracker

log = logging.getLogger(__name__)


def _finish(delivery: WebhookDelivery, status: str, reason: str, event: Any = None) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.RECEIVED).update(
        status=status, reason=reason[:2000], body="", event=event, processed_at=timezone.now()
    )


def process_delivery(delivery_id: int) -> str:
    """Record the delivery's event; its status afterwards. Safe to run twice. Temporary tracker trouble is raised
    (the task retries); a lasting problem marks the delivery failed with the reason."""
    delivery = (
        WebhookDelivery.objects.select_related("instance")
        .filter(pk=delivery_id, status=DeliveryStatus.RECEIVED)
        .first()
    )
    if delivery is None:
        return "done"
    instance = delivery.instance
    try:
        event = read(json.loads(delivery.body))
    except (ValueError, MalformedWebhook) as exc:  # checked on arrival: only a damaged row gets here
        _finish(delivery, DeliveryStatus.FAILED, f"The stored body cannot be read: {exc}.")
        return DeliveryStatus.FAILED
    if event.kind is None:
        _finish(delivery, DeliveryStatus.DROPPED, f"Dropped: {event.unused_reason}.")
        return DeliveryStatus.DROPPED
    try:
        return _record(delivery, event, get_tracker(instance))
    except TemporaryTrackerError:
        raise
    except TrackerError as exc:
        log.warning("Jira webhook delivery %s not processed: %s", delivery.pk, type(exc).__name__)
        _finish(delivery, DeliveryStatus.FAILED, f"Jira could not be asked about the event: {exc}")
        return DeliveryStatus.FAILED


def _with_addresses(tracker: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot's people with the addresses the backend knows (Cloud payloads carry none)."""
    found = dict(snapshot)
    for role in ("reporter", "assignee"):
        person = found.get(role)
        if isinstance(person, dict) and person.get("account_id") and not person.get("email"):
            user = tracker.get_user(person["account_id"])
            if user is not None and user.email:
                found[role] = {**person, "email": user.email}
    return found


def _record(delivery: WebhookDelivery, event: WebhookEvent, tracker: Any) -> str:
    instance = delivery.instance
    issue_key, project_key = event.issue_key, event.project_key
    assert event.kind is not None
    if not issue_key:  # Data Center's comment_created names the issue by id only
        issue = tracker.find_issue(event.issue_id)
        if issue is None:
            _finish(delivery, DeliveryStatus.DROPPED, "Dropped: the issue of the comment no longer exists in Jira.")
            return DeliveryStatus.DROPPED
        issue_key, project_key = issue.key, issue.project_key
        forget_issue(instance.pk, issue_key, comment_added=event.only_comment_added)  # intake could not: by id only
    try:
        wanted = bool(wanting_mappings(instance.pk, project_key, event.kind))
    except UnknownInstance:
        wanted = False
    actor, note = own_changes.actor_of(tracker, event, issue_key) if wanted else ({}, "")
    payload: dict[str, Any] = {"changes": event.changes, "via": "webhook", "webhook_event": event.name}
    if event.comment_id:
        payload["comment_id"] = event.comment_id  # read from Jira when the mail is made (our Markdown, if ours)
    if event.snapshot.get("summary"):
        payload["issue"] = {**event.snapshot, "key": issue_key, "project_key": project_key}
        if wanted and event.kind == EventKind.DELETED:  # the snapshot is all there will be: find its addresses
            payload["issue"] = _with_addresses(tracker, payload["issue"])
    if note:
        payload["own_change"] = note
    external_id = event.external_id
    seen_before = bool(external_id) and (
        IssueEvent.objects.filter(instance=instance, source=EventSource.JIRA, external_id=external_id).exists()
    )
    with transaction.atomic():
        try:
            recorded = record_event(
                instance_id=instance.pk,
                kind=event.kind,
                issue_key=issue_key,
                project_key=project_key,
                actor=actor,
                payload=payload,
                occurred_at=event.occurred_at,
                source=EventSource.JIRA,
                external_id=external_id,
            )
        except InvalidEvent as exc:
            _finish(delivery, DeliveryStatus.FAILED, f"Not an event we can record: {exc}.")
            return DeliveryStatus.FAILED
        reason = (
            "The same event as an earlier delivery (e.g. a comment sent as comment_created and as issue_commented): "
            "notified once."
            if seen_before
            else f"Recorded as a {recorded.get_kind_display().lower()} event of {issue_key}."
            + (f" {note[0].upper()}{note[1:]}." if note else "")
        )
        status = DeliveryStatus.DROPPED if recorded.status == EventStatus.DROPPED else DeliveryStatus.PROCESSED
        _finish(delivery, status, recorded.reason if status == DeliveryStatus.DROPPED else reason, recorded)
    return status
