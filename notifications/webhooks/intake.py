"""Accepting one Jira webhook delivery: the checks, and what is stored (nothing, unless every check passed).

The answer is quick (a token look-up, an HMAC, one or two INSERTs): the work that needs Jira runs in the task
``notifications.jira_webhook`` (:mod:`notifications.webhooks.processing`).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jemh.crypto import keyed_hash_candidates, salted_hash
from jemh.models import WEBHOOK_TOKEN_PURPOSE, Instance, TrackerKind
from notifications.choices import DeliveryStatus, EventSource
from notifications.intake import InvalidEvent, record_event, wanting_mappings
from notifications.mapping_cache import UnknownInstance
from notifications.models import WebhookDelivery
from notifications.webhooks import tasks
from notifications.webhooks.events import MalformedWebhook, WebhookEvent, read
from notifications.webhooks.signature import signature_problem
from trackers.jira.issue_state import forget_issue

log = logging.getLogger(__name__)
BODY_SALT = "jemh.notifications.webhooks.body"


def max_body_bytes() -> int:
    """The largest delivery accepted (JEMH_JIRA_WEBHOOK_MAX_BYTES, 1 MiB by default)."""
    return int(settings.JEMH_JIRA_WEBHOOK_MAX_BYTES)


@dataclass(frozen=True)
class Answer:
    """What to answer Jira: the HTTP status and a short reason (no personal data, no secret)."""

    status: int
    reason: str
    delivery_id: int | None = None


def instance_for_token(token: str) -> Instance | None:
    """The Jira instance whose webhook token this is, or None."""
    if not token:
        return None
    hashes = keyed_hash_candidates(token, purpose=WEBHOOK_TOKEN_PURPOSE)
    for instance in Instance.objects.filter(jira_webhook_token_hash__in=hashes, tracker_kind=TrackerKind.JIRA):
        if hmac.compare_digest((instance.jira_webhook_token or "").encode(), token.encode()):
            return instance
    return None


def accept(instance: Instance, body: bytes, *, signature: str | None, identifier: str | None) -> Answer:
    """Check a delivery to ``instance`` and store it (202), or refuse it (4xx) with nothing stored."""
    if len(body) > max_body_bytes():
        return Answer(413, f"the body is larger than {max_body_bytes()} bytes")
    if instance.jira_webhook_secret:
        problem = signature_problem(instance.jira_webhook_secret, body, signature)
        if problem:
            return Answer(401, problem)
    try:
        event = read(json.loads(body))
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, MalformedWebhook) else "the body is not JSON"
        return Answer(400, reason)
    now = timezone.now()
    oldest = now - timedelta(days=instance.event_retention_days)
    if event.occurred_at is not None and event.occurred_at < oldest:
        return Answer(400, "the delivery is older than the events we keep: refused as a replay")
    identifier = (identifier or "").strip()[:200]
    body_hash = salted_hash(BODY_SALT, body, settings.JEMH_INDEX_KEY)  # exact bytes: no normalisation
    seen = WebhookDelivery.objects.filter(instance=instance, body_hash=body_hash)
    if identifier:
        seen = seen | WebhookDelivery.objects.filter(instance=instance, identifier=identifier)
    if seen.exists():
        return Answer(409, "this delivery was received before (the same identifier or body): nothing stored")
    delivery = WebhookDelivery(
        instance=instance, identifier=identifier, body_hash=body_hash, webhook_event=event.name[:64], received_at=now
    )
    try:
        with transaction.atomic():
            _store(instance, delivery, event, body)
    except IntegrityError:  # the same delivery arrived twice at once
        return Answer(409, "this delivery was received before (the same identifier or body): nothing stored")
    except InvalidEvent as exc:
        return Answer(400, str(exc))
    if event.issue_key:  # the issue changed in Jira: the backend reads it again (Data Center by id: on processing)
        forget_issue(instance.pk, event.issue_key, comment_added=event.only_comment_added)
    return Answer(202, delivery.get_status_display(), delivery.pk)


def _wanted(instance: Instance, event: WebhookEvent) -> bool | None:
    """Whether a mapping wants the event (None: not known yet, the body does not name the project)."""
    if event.kind is None:
        return False
    if not event.project_key:
        return None
    try:
        return bool(wanting_mappings(instance.pk, event.project_key, event.kind))
    except UnknownInstance:
        return False


def _store(instance: Instance, delivery: WebhookDelivery, event: WebhookEvent, body: bytes) -> None:
    wanted = _wanted(instance, event)
    if wanted is False:  # drop the payload at once: keep only that it came and was dropped
        delivery.status = DeliveryStatus.DROPPED
        delivery.processed_at = delivery.received_at
        if event.kind is None:
            delivery.reason = f"Dropped: {event.unused_reason}."
            delivery.save(force_insert=True)
            return
        recorded = record_event(
            instance_id=instance.pk,
            kind=event.kind,
            issue_key=event.issue_key,
            project_key=event.project_key,
            occurred_at=event.occurred_at,
            source=EventSource.JIRA,
            external_id=event.external_id,
        )
        delivery.event = recorded
        delivery.reason = recorded.reason or "Dropped: the same event as an earlier delivery."
        delivery.save(force_insert=True)
        return
    delivery.body = body.decode("utf-8", "replace")
    delivery.save(force_insert=True)
    pk = delivery.pk
    transaction.on_commit(lambda: tasks.process_webhook.delay(pk), robust=True)  # broker down: the sweeper
