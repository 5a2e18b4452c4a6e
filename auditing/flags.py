"""Flagging inbound mail for support: the flag with its three snapshots, unflagging, expiry, and reading what a flag
shares.

A flag is made only when the raw mail is still stored. Its snapshots (raw mail, report, profile export) are written
to the encrypting blob storage, as capture writes raw mail, before the flag row commits; a failure leaves no flag and
no blob. Unflagging and expiry end access at once (every read checks ``SupportFlag.objects.active()``) and then
delete the snapshots; the flag row and its events stay as the record.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from auditing.models import FlagEventKind, SupportFlag, SupportFlagEvent
from inbound import services
from inbound.models import InboundMessage
from jemh.storage import blob_storage, discard_blobs, instance_blob_name

log = logging.getLogger(__name__)


class CannotFlag(Exception):
    """The message cannot be flagged; the message says why."""


User = AbstractBaseUser | AnonymousUser | None  # None: the system (a task, a script)


def _name(user: User) -> str:
    return str(user.get_username()) if user is not None and user.is_authenticated else ""


def _account(user: User) -> Any:
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None


def flag_message(message: InboundMessage, reason: str, user: User) -> SupportFlag:
    """Flag ``message`` for support for ``reason`` (required), until the instance's ``support_flag_days`` pass.
    Raises CannotFlag when the reason is blank or the raw mail is no longer stored."""
    reason = reason.strip()
    if not reason:
        raise CannotFlag("a reason is required: say what support should look at")
    raw = services.raw_mail(message)
    if raw is None:
        raise CannotFlag(f"inbound #{message.pk}: the raw mail is not stored (purged, or the instance keeps none)")
    exported = services.processing_profile_export(message)
    report = message.report if isinstance(message.report, dict) else {}
    now = timezone.now()
    folder = instance_blob_name(message.instance, f"support/{message.instance_id}/{now:%Y/%m/%d}/{uuid.uuid4().hex}")
    storage = blob_storage()
    written: list[str] = []
    try:
        written.append(storage.save_bytes(f"{folder}/mail.eml", raw))
        written.append(storage.save_bytes(f"{folder}/report.json", json.dumps(report, ensure_ascii=False).encode()))
        if exported is not None:
            written.append(storage.save_bytes(f"{folder}/profile.json", exported[1].encode()))
        with transaction.atomic():
            flag = SupportFlag.objects.create(
                message=message,
                instance_id=message.instance_id,
                reason=reason,
                flagged_by=_account(user),
                flagged_by_name=_name(user),
                flagged_at=now,
                expires_at=now + timedelta(days=message.instance.support_flag_days),
                outcome=message.outcome,
                profile_name=exported[0] if exported is not None else "",
                raw_blob=written[0],
                report_blob=written[1],
                profile_blob=written[2] if exported is not None else "",
            )
            SupportFlagEvent.objects.create(flag=flag, kind=FlagEventKind.FLAGGED, by=flag.flagged_by_name, at=now)
    except BaseException:
        discard_blobs(written, "snapshot of an unrecorded support flag")
        raise
    return flag


def unflag(flag: SupportFlag, user: User) -> bool:
    """Withdraw ``flag`` at once and delete its snapshots; False when it had already ended (withdrawn or expired)."""
    now = timezone.now()
    with transaction.atomic():
        ended = SupportFlag.objects.active().filter(pk=flag.pk).update(withdrawn_at=now, withdrawn_by_name=_name(user))
        if not ended:
            return False
        SupportFlagEvent.objects.create(flag=flag, kind=FlagEventKind.UNFLAGGED, by=_name(user), at=now)
    discard_blobs(flag.blobs, "snapshot of a withdrawn support flag")
    return True


def record_expiries() -> int:
    """Record the expiry of every flag past its date (not withdrawn, expiry not yet recorded) and delete its
    snapshots; returns how many. Idempotent (the periodic task runs it). Access ended at the date anyway."""
    now = timezone.now()
    due = SupportFlag.objects.filter(withdrawn_at__isnull=True, expires_at__lte=now, expiry_recorded_at__isnull=True)
    recorded = 0
    for flag in due.iterator():
        with transaction.atomic():
            if not SupportFlag.objects.filter(pk=flag.pk, expiry_recorded_at__isnull=True).update(
                expiry_recorded_at=now
            ):
                continue  # recorded by a concurrent run
            SupportFlagEvent.objects.create(flag=flag, kind=FlagEventKind.EXPIRED, at=now)
        discard_blobs(flag.blobs, "snapshot of an expired support flag")
        recorded += 1
    return recorded


def discard_snapshots(flag: SupportFlag) -> None:
    """Delete a flag's snapshots (the flag is being deleted with its message)."""
    discard_blobs(flag.blobs, "snapshot of a deleted support flag")


@dataclass(frozen=True)
class Shared:
    """What an active flag shares, read back from its snapshots."""

    raw: bytes
    report: dict[str, Any]
    profile_json: str  # blank: no profile could be exported

    @property
    def profile(self) -> Any:
        return json.loads(self.profile_json) if self.profile_json else None


def shared(flag: SupportFlag) -> Shared:
    """The snapshots of ``flag`` (decrypted). The caller has checked that the flag is active."""
    storage = blob_storage()
    report = json.loads(storage.read_bytes(flag.report_blob)) if flag.report_blob else {}
    return Shared(
        raw=storage.read_bytes(flag.raw_blob),
        report=report if isinstance(report, dict) else {},
        profile_json=storage.read_bytes(flag.profile_blob).decode() if flag.profile_blob else "",
    )
