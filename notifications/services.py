"""What other apps call to send mail: every mail we send is recorded as an :class:`OutboundMessage` first.

:func:`send_mail` takes a built Django email (a hint, a forward, an alert, a test mail), records one audit row per
recipient (recipients and subject encrypted, the message in encrypted storage, kept after sending unless the
instance opted out) and then sends the rows through the same sending code as notifications
(:mod:`notifications.sending`): an SMTP outage leaves them waiting and retried by the notifications' tasks (no
attempt spent), a refusal fails them or retries them with back-off, an uncertain delivery is recorded and sent at
most once more. With an ``idempotency_key`` a second call for the same cause (e.g. a re-run of the same inbound
message) records and sends nothing: it reports the first call's rows instead.

The rows are saved (committed, outside a transaction) before the mail is sent, and sent at once, as the mail of
the pipeline and the admin always was. A caller inside a transaction of its own should know that its rows commit
with it: a rollback after the send forgets a mail that went out.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from jemh.crypto import keyed_hash
from jemh.models import Instance
from jemh.storage import discard_blobs
from notifications.choices import OutboundKind, OutboundStatus
from notifications.header_values import one_line
from notifications.messages import PreparedMail
from notifications.models import OutboundMessage
from notifications.outbound import new_outbound
from notifications.sending import send_many
from notifications.tasks import queue_batch, reschedule
from notifications.threading import FINGERPRINT_HEADER, fingerprint_for, message_id_domain

log = logging.getLogger(__name__)
KEY_MAX = 200  # OutboundMessage.idempotency_key's length


@dataclass(frozen=True)
class OutboundSummary:
    """One mail we sent (or mean to send) because of an inbound message, as the inbound audit lists it: no
    recipient or subject (they are encrypted and the outbound audit shows them)."""

    outbound_id: int
    kind: str
    status: str
    issue_key: str
    created_at: Any


def outbound_for_inbound(inbound_id: int) -> list[OutboundSummary]:
    """The mail an inbound message caused (hints, forwards, ...), oldest first."""
    rows = (
        OutboundMessage.objects.filter(inbound_id=inbound_id)
        .order_by("created_at", "pk")
        .values_list("pk", "kind", "status", "issue_key", "created_at")
    )
    return [OutboundSummary(*row) for row in rows]


@dataclass(frozen=True)
class SentMail:
    """What became of the mail to one recipient: its row's id and status (``sent``, ``queued``, ``retrying``,
    ``failed``), the detail of a failure or wait, and whether it had been recorded before (nothing sent now)."""

    outbound_id: int
    recipient: str
    status: str
    detail: str = ""
    duplicate: bool = False
    outage: bool = False


def send_mail(
    *,
    kind: str,
    instance: Any,
    message: EmailMessage,
    inbound_id: int | None = None,
    issue_key: str = "",
    idempotency_key: str = "",
) -> list[SentMail]:
    """Record ``message`` (one row per recipient of its To, Cc and Bcc, each sent its own copy) and send it.

    ``instance`` is the Instance (or its id) the mail belongs to; ``inbound_id`` and ``issue_key`` link the rows
    to what caused them. ``idempotency_key`` names the cause (for example ``inbound:42:hint``): a recipient
    already recorded under it is reported (``duplicate``) and not sent again.
    """
    if kind not in OutboundKind.values:
        raise ValueError(f"unknown kind of outbound mail {kind!r}")
    instance = _instance(instance)
    recipients = list(dict.fromkeys(a for a in message.recipients() if a))
    results: list[SentMail] = []
    fresh: list[OutboundMessage] = []
    prepared: dict[int, PreparedMail] = {}
    for recipient in recipients:
        rh = keyed_hash(recipient)
        key = _key(idempotency_key, rh) if idempotency_key else None
        earlier = _recorded(key)
        if earlier is not None:
            results.append(earlier)
            continue
        copy_for = _copy_for(message, recipient, keep_message_id=len(recipients) == 1)
        raw = copy_for.message().as_bytes()
        saved: list[str] = []
        row = new_outbound(
            instance,
            raw=raw,
            recipient=recipient,
            recipient_hash=rh,
            subject=str(copy_for.subject or ""),
            message_id=copy_for.extra_headers["Message-ID"],
            saved_blobs=saved,
            kind=kind,
            issue_key=issue_key,
            inbound_id=inbound_id,
            idempotency_key=key,
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # recorded meanwhile by a concurrent run of the same cause
            discard_blobs(saved, "unrecorded outbound message")
            earlier = _recorded(key)
            if earlier is None:
                raise
            results.append(earlier)
            continue
        sender = parseaddr(copy_for.from_email)[1] or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
        prepared[row.pk] = PreparedMail(raw, sender, (recipient,))
        fresh.append(row)
        results.append(SentMail(row.pk, recipient, OutboundStatus.QUEUED))
    if fresh:
        sent = _send([row.pk for row in fresh], prepared)
        results = [sent.get(r.outbound_id, r) if not r.duplicate else r for r in results]
    return results


def _instance(instance: Any) -> Any:

    return instance if isinstance(instance, Instance) else Instance.objects.get(pk=instance)


def _key(idempotency_key: str, recipient_hash: str) -> str:
    key = f"{idempotency_key}:{recipient_hash}"
    return key if len(key) <= KEY_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _recorded(key: str | None) -> SentMail | None:
    if key is None:
        return None
    row = OutboundMessage.objects.filter(idempotency_key=key).only("pk", "recipients", "status", "error").first()
    if row is None:
        return None
    recipient = (row.recipients or [""])[0]
    return SentMail(row.pk, recipient, row.status, row.error, duplicate=True)


def _copy_for(message: EmailMessage, recipient: str, keep_message_id: bool) -> EmailMessage:
    """The message as sent to one recipient: addressed to them alone, with a Message-ID of ours, and every header
    value on one line (a subject taken from a mail may have held an encoded line break)."""
    single = copy.copy(message)
    single.to, single.cc, single.bcc = [recipient], [], []
    single.subject = one_line(str(single.subject or ""))
    single.from_email = one_line(str(single.from_email or ""))
    single.reply_to = [one_line(str(address)) for address in single.reply_to]
    single.extra_headers = {name: one_line(str(value)) for name, value in message.extra_headers.items()}
    if not (keep_message_id and single.extra_headers.get("Message-ID")):
        single.extra_headers["Message-ID"] = make_msgid(domain=message_id_domain())
    return single


def _send(outbound_ids: Sequence[int], prepared: dict[int, PreparedMail]) -> dict[int, SentMail]:
    """Send freshly recorded rows now; what must wait is queued to be retried by the notifications' tasks (and
    the sweep picks up anything those lose)."""

    ids = list(outbound_ids)
    try:
        results = send_many(ids, prepared)
    except Exception:  # e.g. the database went away mid-way: the send task (or the sweep) finishes the job
        log.exception("sending %s recorded mail(s) inline failed; queueing them", len(ids))
        queue_batch(ids)
        return {}
    reschedule(results)
    recipients = {pk: mail.recipients[0] for pk, mail in prepared.items()}
    return {
        pk: SentMail(pk, recipients.get(pk, ""), result.status, result.detail, outage=result.outage)
        for pk, result in results.items()
    }


def send_test_mail(instance: Any, to: str, requested_by: str = "") -> SentMail:
    """Send a test mail of ``instance`` to ``to`` (recorded as kind ``test``): whether the mail settings work."""
    instance = _instance(instance)
    who = f" by {requested_by}" if requested_by else ""
    message = EmailMessage(
        subject=f"[JEMH] Test mail from {instance.name}",
        body=f"This is a test mail of the mail handler's instance {instance.name!r}, requested{who} from the admin.\n"
        "It arrived, so outbound mail works. Nothing needs to be done.\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            FINGERPRINT_HEADER: fingerprint_for(instance.pk),  # our own mail, should it reach one of our mailboxes
        },
    )
    [sent] = send_mail(kind=OutboundKind.TEST, instance=instance, message=message)
    return sent
