"""The outbound record: a built message stored (encrypted) and its audit row, for every kind of mail we send.

Notifications (:mod:`notifications.composing`) and the other mail (:mod:`notifications.services`: hints, forwards,
alerts, test mail) make their rows here, so all of them are stored, kept or discarded after sending, and expire the
same way: the message is always stored until it is sent (a retry reads it back), and kept afterwards only when
the instance stores outbound mail (``Instance.store_outbound_mail``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from jemh.storage import blob_storage, instance_blob_name
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage


def store_message(instance: Any, raw: bytes, now: datetime) -> str:
    """Save a built message in the encrypting blob storage (the storage the instance names); its name."""
    name = instance_blob_name(instance, f"outbound/{instance.pk}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.eml")
    return blob_storage().save_bytes(name, raw)


def new_outbound(
    instance: Any,
    *,
    raw: bytes,
    recipient: str,
    recipient_hash: str,
    subject: str,
    message_id: str,
    saved_blobs: list[str],
    kind: str = OutboundKind.NOTIFICATION,
    issue_key: str = "",
    now: datetime | None = None,
    **fields: Any,
) -> OutboundMessage:
    """A queued, unsaved audit row for one message to one recipient, its message stored (its name is added to
    ``saved_blobs``, for the caller to discard should the row not be saved)."""
    now = now or timezone.now()
    name = store_message(instance, raw, now)
    saved_blobs.append(name)
    return OutboundMessage(
        instance=instance,
        kind=kind,
        issue_key=issue_key,
        recipients=[recipient],
        recipient_hash=recipient_hash,
        subject=subject,
        message_id=message_id,
        status=OutboundStatus.QUEUED,
        blob_name=name,
        keep_blob=instance.store_outbound_mail,
        created_at=now,
        expires_at=now + timedelta(days=instance.outbound_retention_days),
        **fields,
    )
