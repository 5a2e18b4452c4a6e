"""Registration and feedback (privacy.md, "Registration and feedback"): the only data that ever leaves for
anywhere but a recipient's mailbox. When the operator sets ``JEMH_CHAT_WEBHOOK_URL`` (a Slack-compatible
incoming webhook), one message is posted when an instance is registered (its host URL), and an admin's "Send
feedback" form posts the host URL, that admin's e-mail address and their text. Nothing else is sent.

Each post is recorded in the outbound audit (kind ``chat``: the webhook's host as recipient, what was posted as
the subject) with its status; a webhook that fails is recorded as failed and changes nothing else."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from jemh.crypto import keyed_hash
from jemh.logging import redact
from jemh.models import Instance
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0


def webhook_url() -> str:
    return str(getattr(settings, "JEMH_CHAT_WEBHOOK_URL", "") or "")


def registration_payload(instance: Instance) -> dict[str, str]:
    return {"text": f"JEMH mail handler: instance registered, host {instance.base_url or '(no host URL)'}"}


def feedback_payload(instance: Instance, email: str, text: str) -> dict[str, str]:
    return {"text": f"JEMH mail handler feedback from {email} (host {instance.base_url or '(no host URL)'}):\n{text}"}


def post(instance: Instance, what: str, payload: dict[str, Any]) -> OutboundMessage | None:
    """Post ``payload`` to the chat webhook (nothing when none is set) and record it; never raises."""
    url = webhook_url()
    if not url:
        return None
    host = urlsplit(url).hostname or "(chat webhook)"
    row = OutboundMessage.objects.create(
        instance=instance,
        kind=OutboundKind.CHAT,
        recipients=[host],
        recipient_hash=keyed_hash(host),
        subject=what,
        message_id="",
        status=OutboundStatus.SENDING,
        keep_blob=False,
    )
    row.attempts = 1
    try:
        response = httpx.post(url, json=payload, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except Exception as exc:  # a failing webhook changes nothing else
        row.status, row.error = OutboundStatus.FAILED, redact(f"{type(exc).__name__}: {exc}")[:500]
        log.warning("the chat webhook refused the %s post: %s", what, type(exc).__name__)
    else:
        row.status, row.sent_at = OutboundStatus.SENT, timezone.now()
    row.save(update_fields=["status", "error", "sent_at", "attempts"])
    return row


def on_instance_saved(sender: Any, instance: Instance, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    """Registration: once, when an instance is created (after its transaction commits)."""
    if created and not raw and webhook_url():
        from django.db import transaction

        transaction.on_commit(lambda: post(instance, "registration", registration_payload(instance)))
