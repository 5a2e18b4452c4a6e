"""Building notification mail (threading and loop-safety headers) and sending it exactly once, with retries.

:func:`build_message` turns a rendered mail into RFC 5322 bytes with our headers. :func:`send_outbound` sends a
queued :class:`OutboundMessage` through Django's email backend (SMTP when ``EMAIL_URL`` is set, files by
default). It claims the row with a conditional UPDATE first, so two workers never send the same mail; a
temporary failure (server down, 4xx) leaves it ``retrying`` with a back-off, a permanent one (5xx) or the last
allowed attempt leaves it ``failed`` with the error. :func:`send_many` does the same for a flushed batch: one
claiming UPDATE for all its rows, one SMTP session, and the messages taken from memory (:class:`PreparedMail`)
rather than read back and decrypted from storage.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db.models import F, Q
from django.utils import timezone

from jemh.logging import Pii
from jemh.rows import update_rows
from jemh.storage import blob_storage, discard_blobs
from notifications.choices import OutboundStatus
from notifications.messages import (  # noqa: F401 - build_message and MailAttachment are used from here too
    MailAttachment,
    PreparedMail,
    StoredEmail,
    build_message,
)
from notifications.models import OutboundMessage

log = logging.getLogger(__name__)
CRLF = re.compile(rb"\r?\n")

# -- sending ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    status: str
    retry_in: int | None = None  # seconds until the next attempt, when retrying
    detail: str = ""


def max_attempts() -> int:
    return int(getattr(settings, "JEMH_NOTIFICATION_MAX_ATTEMPTS", 8))


def backoff(attempt: int) -> int:
    base = int(getattr(settings, "JEMH_NOTIFICATION_RETRY_BASE", 30))
    return int(min(base * 2 ** max(attempt - 1, 0), 3600))


def lease_seconds() -> int:
    return int(getattr(settings, "JEMH_NOTIFICATION_SEND_LEASE", 600))


def is_permanent(exc: BaseException) -> bool:
    """5xx answers are final; 4xx answers, dropped connections and network errors are worth retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _claimable() -> Q:
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    return Q(status__in=[OutboundStatus.QUEUED, OutboundStatus.RETRYING]) | Q(
        status=OutboundStatus.SENDING, claimed_at__lt=stale
    )


def _claim(outbound_id: int) -> bool:
    return bool(
        OutboundMessage.objects.filter(_claimable(), pk=outbound_id).update(
            status=OutboundStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


_CLAIMED_FIELDS = ("pk", "issue_key", "recipients", "message_id", "attempts", "blob_name", "keep_blob")


def _claim_many(outbound_ids: Sequence[int]) -> list[OutboundMessage]:
    """Claim every claimable row of ``outbound_ids`` with one UPDATE; the rows this call claimed, in order.

    The rows claimed here are told apart by their ``claimed_at`` (this call's timestamp): a row is claimed by one
    UPDATE only, since the claim is conditional on the row not being claimed already.
    """
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(_claimable(), pk__in=list(outbound_ids)).update(
        status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
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
    recorded at once (:func:`_record_sent`), with the moment the server accepted it.
    """
    prepared = prepared or {}
    rows = _claim_many(outbound_ids)
    results: dict[int, SendResult] = {}
    mailer = _Mailer()
    try:
        for outbound in rows:
            results[outbound.pk] = _deliver(outbound, prepared.get(outbound.pk), mailer)
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
    the server's acceptance and this record leaves the row ``sending``, and after the lease it is sent again, so
    at most one mail can ever arrive twice. One prepared UPDATE (``jemh.rows.update_rows``) keeps that cheap."""
    outbound.status, outbound.sent_at, outbound.error = OutboundStatus.SENT, timezone.now(), ""
    outbound.claimed_at = outbound.next_attempt_at = None
    discard = "" if outbound.keep_blob else outbound.blob_name
    if discard:
        outbound.blob_name = ""
    update_rows([outbound], _SENT_FIELDS)
    discard_blobs([discard], "stored outbound message")
    log.info("notification %s for %s sent as %s", outbound.pk, outbound.issue_key, Pii.message_id(outbound.message_id))


_SENT_FIELDS = ["status", "sent_at", "error", "claimed_at", "next_attempt_at", "blob_name"]


def send_outbound(outbound_id: int, connection: Any = None) -> SendResult:
    """Send one queued notification; safe to call any number of times (it is sent at most once)."""
    if not _claim(outbound_id):
        current = OutboundMessage.objects.filter(pk=outbound_id).values_list("status", flat=True).first()
        return SendResult(status=current or "missing", detail="not claimable (already sent, sending or gone)")
    outbound = OutboundMessage.objects.only(*_CLAIMED_FIELDS).get(pk=outbound_id)
    mailer = _Mailer(connection)
    try:
        return _deliver(outbound, None, mailer)
    finally:
        mailer.close()


class _Mailer:
    """Django's email backend, kept open across the messages of a batch when it is SMTP (one session); after
    an error the session is dropped and the next message opens a fresh one."""

    def __init__(self, connection: Any = None) -> None:
        self.connection = connection or get_connection(fail_silently=False)
        self.owned = connection is None
        self.keep_open = isinstance(self.connection, SmtpBackend)
        self.opened = False

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> int:
        """Send a built message; over the open SMTP session directly when every address is plain ASCII (what
        Django's backend would do after finding nothing to encode), else through the backend."""
        if self.keep_open and self.connection.connection is None:
            self.opened = bool(self.connection.open()) or self.opened
        try:
            session = self.connection.connection if self.keep_open else None
            if session is not None and sender.isascii() and all(r.isascii() for r in recipients):
                refused = session.sendmail(sender, recipients, CRLF.sub(b"\r\n", raw))
                return len(recipients) - len(refused)
            return int(self.connection.send_messages([StoredEmail(raw, sender, recipients)]))
        except BaseException:
            if self.keep_open:  # the session may be in any state: the next message starts a fresh one
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self.connection.close()
            raise

    def close(self) -> None:
        if self.owned or self.opened:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.close()


def _deliver(outbound: OutboundMessage, mail: PreparedMail | None, mailer: _Mailer) -> SendResult:
    """Send a row this worker has claimed and record the outcome."""
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
        if not mailer.send(raw, sender, recipients):
            raise smtplib.SMTPException("the mail backend reported nothing sent")
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if is_permanent(exc):
            return _finish_failed(outbound, f"the server refused the message: {error}")
        if outbound.attempts >= max_attempts():
            return _finish_failed(outbound, f"gave up after {outbound.attempts} attempts: {error}")
        delay = backoff(outbound.attempts)
        OutboundMessage.objects.filter(pk=outbound.pk).update(
            status=OutboundStatus.RETRYING,
            error=error,
            claimed_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        log.warning(
            "notification %s to %s not sent (attempt %s), retrying in %ss: %s",
            outbound.pk,
            Pii.address(recipients[0] if recipients else ""),
            outbound.attempts,
            delay,
            type(exc).__name__,
        )
        return SendResult(OutboundStatus.RETRYING, retry_in=delay, detail=error)
    _record_sent(outbound)
    return SendResult(OutboundStatus.SENT)


def _finish_failed(outbound: OutboundMessage, error: str) -> SendResult:
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=OutboundStatus.FAILED,
        error=error,
        claimed_at=None,
        next_attempt_at=None,
        blob_name=outbound.blob_name if outbound.keep_blob else "",
    )
    if not outbound.keep_blob:
        discard_blobs([outbound.blob_name], "stored outbound message")
    log.error("notification %s for %s failed: %s", outbound.pk, outbound.issue_key, error)
    return SendResult(OutboundStatus.FAILED, detail=error)


def _header(raw: bytes, name: str) -> str:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    value = BytesHeaderParser().parsebytes(head + b"\n\n").get(name)
    return str(value) if value else ""
