"""Small helpers of the notification tests: run a batch now, send what is queued, read received mail."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from django.utils import timezone

from notifications.batching import FlushResult, flush_issue
from notifications.choices import OutboundStatus
from notifications.models import OutboundMessage
from notifications.sending import SendResult, send_outbound


def flush_now(instance: Any, issue_key: str) -> FlushResult:
    """Flush the issue as if its batch window had ended."""
    return flush_issue(instance.pk, issue_key, now=timezone.now() + timedelta(hours=1))


def send_queued() -> list[SendResult]:
    pending = OutboundMessage.objects.filter(status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING])
    return [send_outbound(pk) for pk in pending.order_by("id").values_list("pk", flat=True)]


def by_recipient(received: list[Any]) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for mail in received:
        for rcpt in mail.envelope_to:
            assert rcpt not in found, f"{rcpt} received two notifications"
            found[rcpt] = mail.message
    return found


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")
