"""Building notification mail (threading and loop-safety headers) and sending any outbound mail exactly once, with
retries (notifications, and the hints, forwards, alerts and test mail recorded by :mod:`notifications.services`).

:func:`build_message` turns a rendered mail into RFC 5322 bytes with our headers. :func:`send_outbound` sends a
queued :class:`OutboundMessage` through Django's email backend (SMTP when ``EMAIL_URL`` is set, files by
default). It claims the row with a conditional UPDATE first, so two workers never send the same mail.
:func:`send_many` does the same for a flushed batch: one claiming UPDATE for all its rows, one SMTP session, and
the messages taken from memory (:class:`PreparedMail`) rather than read back and decrypted from storage.

What a failed send costs depends on what failed (:mod:`notifications.mailer` tells them apart):

- **the server is unreachable** (an outage): the mail waits, ``retrying``, with no attempt spent and a back-off
  of at most ``JEMH_NOTIFICATION_OUTAGE_RETRY_MAX`` seconds; a batch stops at its first outage (the rest of it
  waits too, untried), so a server that is down sees one connection per batch and back-off, not one per mail;
- **the server refused the message**: a 5xx answer leaves it ``failed`` at once; a 4xx one spends an attempt and
  retries with back-off, until the last allowed attempt leaves it ``failed``;
- **the delivery is uncertain** (the connection dropped after the whole message was sent, before the server's
  reply, or the worker sending it stopped before recording the outcome): the row records it
  (``maybe_sent_at``) and the mail is sent once more; a second doubt ends it ``failed`` rather than risk a third
  copy. So a mail arrives at most once, except where SMTP's own ambiguity is recorded on its row, and then at
  most twice.

A ``failed`` mail keeps its stored message until it expires, so that it can be sent again from the admin
(:func:`resend_failed`).

Before the claim, the hourly sending limits are applied (:mod:`notifications.limits`): a notification, hint or
forward over its issue's or its instance's limit is not sent now but ``held``, with the moment it may go in
``next_attempt_at``; no attempt is spent, and the sweep sends it when that moment has come.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from jemh.logging import Pii
from jemh.rows import update_rows
from jemh.storage import blob_storage, discard_blobs
from notifications.choices import OutboundStatus
from notifications.limits import LIMITED_KINDS, hold_over_limits, mark_held
from notifications.mailer import DeliveryUncertain, Mailer, SmtpOutage, is_permanent
from notifications.messages import (  # noqa: F401 - build_message and MailAttachment are used from here too
    MailAttachment,
    PreparedMail,
    StoredEmail,
    build_message,
)
from notifications.models import OutboundMessage

log = logging.getLogger(__name__)

# -- sending ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    status: str
    retry_in: int | None = None  # seconds until the next attempt, when retrying
    detail: str = ""
    outage: bool = False  # waiting for an unreachable server (no attempt spent)
    held_until: datetime | None = None  # held by an hourly sending limit until then (the sweep sends it)


def max_attempts() -> int:
    return int(getattr(settings, "JEMH_NOTIFICATION_MAX_ATTEMPTS", 8))


def backoff(attempt: int) -> int:
    base = int(getattr(settings, "JEMH_NOTIFICATION_RETRY_BASE", 30))
    return int(min(base * 2 ** max(attempt - 1, 0), 3600))


def outage_backoff(since: datetime, now: datetime) -> int:
    """Seconds to wait before trying an unreachable server again: as long as it has been down so far (so the
    waits double), at least the first retry delay, at most ``JEMH_NOTIFICATION_OUTAGE_RETRY_MAX`` (300 s)."""
    cap = int(getattr(settings, "JEMH_NOTIFICATION_OUTAGE_RETRY_MAX", 300))
    return int(max(1, min(max((now - since).total_seconds(), backoff(1)), cap)))


def lease_seconds() -> int:
    return int(getattr(settings, "JEMH_NOTIFICATION_SEND_LEASE", 600))


def _claimable() -> Q:
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    return Q(status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING, OutboundStatus.HELD]) | Q(
        status=OutboundStatus.SENDING, claimed_at__lt=stale
    )


def _hold_over_limits(outbound_ids: Sequence[int], now: datetime) -> dict[int, SendResult]:
    """Hold the claimable rows of ``outbound_ids`` that an hourly limit keeps back (:mod:`notifications.limits`);
    their results. Call inside the claim's transaction."""
    candidates = list(
        OutboundMessage.objects.filter(_claimable(), pk__in=list(outbound_ids), kind__in=LIMITED_KINDS)
        .order_by()
        .values_list("pk", "instance_id", "issue_key")
    )
    order = {pk: index for index, pk in enumerate(outbound_ids)}
    candidates.sort(key=lambda row: order.get(row[0], 0))
    holds = hold_over_limits(candidates, now, timedelta(seconds=lease_seconds()))
    if not holds:
        return {}
    mark_held(holds)
    log.warning("%s outbound mail(s) held by the hourly sending limits", len(holds))
    return {
        pk: SendResult(OutboundStatus.HELD, detail=hold.reason, held_until=hold.until) for pk, hold in holds.items()
    }


TAKEN_OVER = "the worker sending it stopped before recording the outcome; it was sent again"


def _claim_values(now: datetime) -> dict[str, Any]:
    """The claiming UPDATE's values. A row taken over from a worker that stopped while sending it (still
    ``sending``) may have gone out already: that doubt is recorded on it in the same statement."""
    taken_over = When(status=OutboundStatus.SENDING, maybe_sent_at__isnull=True, then=Value(now))
    return {
        "status": OutboundStatus.SENDING,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
        "maybe_sent_at": Case(taken_over, default=F("maybe_sent_at")),
        "maybe_sent_reason": Case(
            When(status=OutboundStatus.SENDING, maybe_sent_at__isnull=True, then=Value(TAKEN_OVER)),
            default=F("maybe_sent_reason"),
        ),
    }


def _claim(outbound_id: int) -> SendResult | None:
    """Claim one row: None when claimed, otherwise its result (held by a limit, or not claimable)."""
    now = timezone.now()
    with transaction.atomic():
        held = _hold_over_limits([outbound_id], now)
        if held:
            return held[outbound_id]
        if OutboundMessage.objects.filter(_claimable(), pk=outbound_id).update(**_claim_values(now)):
            return None
    current = OutboundMessage.objects.filter(pk=outbound_id).values_list("status", flat=True).first()
    return SendResult(status=current or "missing", detail="not claimable (already sent, sending or gone)")


_CLAIMED_FIELDS = (
    "pk",
    "instance",
    "kind",
    "issue_key",
    "recipients",
    "message_id",
    "attempts",
    "blob_name",
    "keep_blob",
    "unreachable_since",
    "maybe_sent_at",
)


def _claim_many(outbound_ids: Sequence[int], held: dict[int, SendResult]) -> list[OutboundMessage]:
    """Claim every claimable row of ``outbound_ids`` with one UPDATE; the rows this call claimed, in order. Rows an
    hourly limit holds back are marked held instead, and their results added to ``held``.

    The rows claimed here are told apart by their ``claimed_at`` (this call's timestamp): a row is claimed by one
    UPDATE only, since the claim is conditional on the row not being claimed already.
    """
    now = timezone.now()
    with transaction.atomic():
        held.update(_hold_over_limits(outbound_ids, now))
        wanted = [pk for pk in outbound_ids if pk not in held]
        claimed = 0
        if wanted:
            claimed = OutboundMessage.objects.filter(_claimable(), pk__in=wanted).update(**_claim_values(now))
    if not claimed:
        return []
    rows = {
        row.pk: row
        for row in OutboundMessage.objects.filter(
            pk__in=list(outbound_ids), status=OutboundStatus.SENDING, claimed_at=now
        ).only(*_CLAIMED_FIELDS)
    }
    return [rows[pk] for pk in outbound_ids if pk in rows]


def send_many(
    outbound_ids: Sequence[int],
    prepared: Mapping[int, PreparedMail] | None = None,
) -> dict[int, SendResult]:
    """Send several queued notifications over one SMTP connection; safe to call any number of times.

    ``prepared`` holds messages already in memory (from the flush that built them), by id; the others are read
    from storage. Rows not claimable (already sent, being sent, gone) are reported and left alone. Each sent row is
    recorded at once (:func:`_record_sent`), with the moment the server accepted it. At the first outage the
    batch stops: that row and the ones after it wait for the server (``outage`` in their results).
    """
    prepared = prepared or {}
    results: dict[int, SendResult] = {}
    rows = _claim_many(outbound_ids, results)
    mailer = Mailer()
    try:
        for index, outbound in enumerate(rows):
            try:
                results[outbound.pk] = _deliver(outbound, prepared.get(outbound.pk), mailer)
            except SmtpOutage as exc:  # the rest of the batch waits with it, untried
                results.update(_wait_for_server(rows[index:], exc))
                break
    finally:
        mailer.close()
    if len(results) < len(outbound_ids):
        missing = [pk for pk in outbound_ids if pk not in results]
        current = dict(OutboundMessage.objects.filter(pk__in=missing).values_list("pk", "status"))
        for pk in missing:
            results[pk] = SendResult(
                status=current.get(pk, "missing"), detail="not claimable (already sent, sending or gone)"
            )
    return results


def _record_sent(outbound: OutboundMessage) -> None:
    """Record a row the server accepted as ``sent`` at once, with the moment of acceptance: a worker dying between
    the server's acceptance and this record leaves the row ``sending``, and after the lease it is sent again (and
    the doubt recorded on it, see :func:`_claim_values`). One prepared UPDATE (``jemh.rows.update_rows``)."""
    outbound.status, outbound.sent_at, outbound.error = OutboundStatus.SENT, timezone.now(), ""
    outbound.claimed_at = outbound.next_attempt_at = outbound.unreachable_since = None
    discard = "" if outbound.keep_blob else outbound.blob_name
    if discard:
        outbound.blob_name = ""
    update_rows([outbound], _SENT_FIELDS)
    discard_blobs([discard], "stored outbound message")
    log.info(
        "%s %s for %s sent as %s",
        outbound.kind,
        outbound.pk,
        outbound.issue_key or "-",
        Pii.message_id(outbound.message_id),
    )


_SENT_FIELDS = ["status", "sent_at", "error", "claimed_at", "next_attempt_at", "unreachable_since", "blob_name"]


def send_outbound(outbound_id: int, connection: Any = None) -> SendResult:
    """Send one queued notification; safe to call any number of times (it is sent at most once)."""
    unclaimed = _claim(outbound_id)
    if unclaimed is not None:
        return unclaimed
    outbound = OutboundMessage.objects.only(*_CLAIMED_FIELDS).get(pk=outbound_id)
    mailer = Mailer(connection)
    try:
        return _deliver(outbound, None, mailer)
    except SmtpOutage as exc:
        return _wait_for_server([outbound], exc)[outbound.pk]
    finally:
        mailer.close()


def _deliver(outbound: OutboundMessage, mail: PreparedMail | None, mailer: Mailer) -> SendResult:
    """Send a row this worker has claimed and record the outcome; an outage is raised (:class:`SmtpOutage`)
    for the caller to put the row, and what else it holds, back to wait."""
    if mail is None:
        try:
            raw = blob_storage().read_bytes(outbound.blob_name)
        except Exception as exc:
            return _finish_failed(outbound, f"the stored message cannot be read ({type(exc).__name__}: {exc})")
        sender = parseaddr(_header(raw, "From"))[1] or settings.DEFAULT_FROM_EMAIL
        recipients = list(outbound.recipients)
    else:
        raw, sender, recipients = mail.raw, mail.sender, list(mail.recipients)
    try:
        if not mailer.send(raw, sender, recipients, instance_id=outbound.instance_id):
            raise smtplib.SMTPException("the mail backend reported nothing sent")
    except (SmtpOutage, DeliveryUncertain) as exc:
        if isinstance(exc, SmtpOutage):
            raise
        return _uncertain(outbound, recipients, exc)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if is_permanent(exc):
            return _finish_failed(outbound, f"the server refused the message: {error}")
        return _retry(outbound, recipients, error)
    _record_sent(outbound)
    return SendResult(OutboundStatus.SENT)


def _retry(outbound: OutboundMessage, recipients: list[str], error: str) -> SendResult:
    """The attempt is spent; another one follows after a back-off, unless it was the last."""
    if outbound.attempts >= max_attempts():
        return _finish_failed(outbound, f"gave up after {outbound.attempts} attempts: {error}")
    delay = backoff(outbound.attempts)
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=OutboundStatus.RETRYING,
        error=error,
        claimed_at=None,
        unreachable_since=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    log.warning(
        "outbound mail %s to %s not sent (attempt %s), retrying in %ss: %s",
        outbound.pk,
        Pii.address(recipients[0] if recipients else ""),
        outbound.attempts,
        delay,
        error.split(":", 1)[0],
    )
    return SendResult(OutboundStatus.RETRYING, retry_in=delay, detail=error)


def _uncertain(outbound: OutboundMessage, recipients: list[str], exc: DeliveryUncertain) -> SendResult:
    """The whole message went out and the connection dropped before the server's reply: it may have arrived.
    Recorded on the row; sent once more (a lost notification is worse than a double), never a third time."""
    reason = f"the connection dropped after the whole message was sent, before the server confirmed it ({exc})"
    doubted_before = outbound.maybe_sent_at is not None
    OutboundMessage.objects.filter(pk=outbound.pk).update(maybe_sent_at=timezone.now(), maybe_sent_reason=reason[:300])
    log.warning("outbound mail %s for %s may have been sent: %s", outbound.pk, outbound.issue_key or "-", exc)
    if doubted_before:
        return _finish_failed(
            outbound,
            f"not sent again: {reason}, and it was in doubt before, so it may have arrived (perhaps twice). "
            "Send it again from the admin if its recipient did not get it.",
        )
    return _retry(outbound, recipients, f"delivery uncertain, sending once more: {reason}")


def _wait_for_server(rows: Sequence[OutboundMessage], exc: SmtpOutage) -> dict[int, SendResult]:
    """Put claimed rows back to wait for an unreachable server: their claims' attempts are given back, and each
    waits a back-off that grows with the time the server has been unreachable for it."""
    now = timezone.now()
    results: dict[int, SendResult] = {}
    for row in rows:
        since = row.unreachable_since or now
        delay = outage_backoff(since, now)
        row.status, row.attempts, row.claimed_at = OutboundStatus.RETRYING, max(row.attempts - 1, 0), None
        row.unreachable_since, row.next_attempt_at = since, now + timedelta(seconds=delay)
        row.error = (
            f"SMTP server unreachable since {since.isoformat(timespec='seconds')} ({exc}); "
            "waiting for it, no attempt spent"
        )
        results[row.pk] = SendResult(OutboundStatus.RETRYING, retry_in=delay, detail=row.error, outage=True)
    update_rows(rows, _WAITING_FIELDS)
    log.warning(
        "SMTP server unreachable (%s): %s outbound mail(s) wait, next try in %ss at the earliest",
        type(exc.cause).__name__,
        len(rows),
        min(r.retry_in or 0 for r in results.values()),
    )
    return results


_WAITING_FIELDS = ["status", "attempts", "claimed_at", "unreachable_since", "next_attempt_at", "error"]


def _finish_failed(outbound: OutboundMessage, error: str) -> SendResult:
    """The mail ends ``failed``; its stored message is kept (until it expires) so it can be sent again."""
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=OutboundStatus.FAILED, error=error, claimed_at=None, next_attempt_at=None, unreachable_since=None
    )
    log.error("outbound mail %s for %s failed: %s", outbound.pk, outbound.issue_key or "-", error)
    return SendResult(OutboundStatus.FAILED, detail=error)


# -- sending again -----------------------------------------------------------------------------------------------


def resend_failed(outbound_ids: Sequence[int], user: Any = None) -> list[int]:
    """Make failed notifications sendable again with a fresh attempt budget, recording who did it and when;
    the ids made ``queued``, for the caller to queue their sending (after its commit). Rows not ``failed``, or
    whose stored message is gone, are left alone."""
    now = timezone.now()
    ids = list(outbound_ids)
    OutboundMessage.objects.filter(pk__in=ids, status=OutboundStatus.FAILED).exclude(blob_name="").update(
        status=OutboundStatus.QUEUED,
        attempts=0,
        error="",
        claimed_at=None,
        next_attempt_at=None,
        unreachable_since=None,
        maybe_sent_at=None,
        maybe_sent_reason="",
        resent_at=now,
        resent_by=user if user is not None and user.pk else None,
    )
    requeued = list(
        OutboundMessage.objects.filter(pk__in=ids, status=OutboundStatus.QUEUED, resent_at=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    log.info("%s failed notification(s) queued to be sent again", len(requeued))
    return requeued


def _header(raw: bytes, name: str) -> str:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    value = BytesHeaderParser().parsebytes(head + b"\n\n").get(name)
    return str(value) if value else ""
