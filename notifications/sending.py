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
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db.models import F, Q
from django.utils import timezone

from jemh.logging import Pii
from jemh.storage import blob_storage
from notifications import threading
from notifications.choices import OutboundStatus
from notifications.models import OutboundMessage
from notifications.rendering import RenderedMail

log = logging.getLogger(__name__)
LOOP_SAFETY_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
    "Precedence": "bulk",
}
REFERENCES_KEPT = 10  # previous notifications listed in References (after the root)


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content: bytes
    content_type: str


def thread_headers(instance_id: int, issue_key: str, previous: Sequence[str]) -> dict[str, str]:
    """In-Reply-To and References: the issue's root id first, then the notifications of the issue this recipient
    already got (oldest first, the last few)."""
    root = threading.thread_root_id(instance_id, issue_key)
    chain = [root, *[m for m in previous[-REFERENCES_KEPT:] if m != root]]
    return {"In-Reply-To": chain[-1], "References": " ".join(chain)}


def build_message(*, instance_id: int, issue_key: str, recipient: str, rendered: RenderedMail, message_id: str,
                  previous_ids: Sequence[str] = (), from_address: str = "", reply_address: str = "",
                  attachments: Sequence[MailAttachment] = ()) -> EmailMessage:
    """The Django email for one recipient, with every threading and loop-safety header set."""
    headers = {
        "Message-ID": message_id,
        **thread_headers(instance_id, issue_key, previous_ids),
        threading.FINGERPRINT_HEADER: threading.fingerprint_for(instance_id),
        **LOOP_SAFETY_HEADERS,
    }
    reply_to = [threading.reply_address_for(reply_address, instance_id, issue_key, recipient)] if reply_address else []
    sender = from_address or settings.DEFAULT_FROM_EMAIL
    if rendered.text is not None:
        message: EmailMessage = EmailMultiAlternatives(rendered.subject, rendered.text, sender, [recipient],
                                                       headers=headers, reply_to=reply_to)
        if rendered.html is not None:
            message.attach_alternative(rendered.html, "text/html")  # type: ignore[attr-defined]
    else:
        message = EmailMessage(rendered.subject, rendered.html or "", sender, [recipient], headers=headers,
                               reply_to=reply_to)
        message.content_subtype = "html"
    for item in attachments:
        message.attach(item.filename, item.content, item.content_type)
    return message


class StoredEmail(EmailMessage):
    """An already-built message (bytes from storage) handed to a Django email backend unchanged."""

    def __init__(self, raw: bytes, from_email: str, to: list[str]) -> None:
        super().__init__(from_email=from_email, to=to)
        self.raw = raw

    def message(self, *, policy: object = None) -> _RawMessage:  # type: ignore[override]
        return _RawMessage(self.raw)


class _RawMessage:
    """Quacks like the MIME object Django's backends serialise (as_bytes, get_charset)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return re.sub(rb"\r?\n", linesep.encode("ascii"), self.raw)

    def get_charset(self) -> None:
        return None


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
        status=OutboundStatus.SENDING, claimed_at__lt=stale)


def _claim(outbound_id: int) -> bool:
    return bool(OutboundMessage.objects.filter(_claimable(), pk=outbound_id).update(
        status=OutboundStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1))


@dataclass(frozen=True)
class PreparedMail:
    """A message already in memory (just built by the flush): sent without reading and decrypting its blob."""

    raw: bytes
    sender: str
    recipients: tuple[str, ...]


_CLAIMED_FIELDS = ("pk", "issue_key", "recipients", "message_id", "attempts", "blob_name", "keep_blob")


def _claim_many(outbound_ids: Sequence[int]) -> list[OutboundMessage]:
    """Claim every claimable row of ``outbound_ids`` with one UPDATE; the rows this call claimed, in order.

    The rows claimed here are told apart by their ``claimed_at`` (this call's timestamp): a row is claimed by one
    UPDATE only, since the claim is conditional on the row not being claimed already.
    """
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(_claimable(), pk__in=list(outbound_ids)).update(
        status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return []
    rows = {row.pk: row for row in OutboundMessage.objects.filter(
        pk__in=list(outbound_ids), status=OutboundStatus.SENDING, claimed_at=now).only(*_CLAIMED_FIELDS)}
    return [rows[pk] for pk in outbound_ids if pk in rows]


def send_many(outbound_ids: Sequence[int], prepared: Mapping[int, PreparedMail] | None = None,
              ) -> dict[int, SendResult]:
    """Send several queued notifications over one SMTP connection; safe to call any number of times.

    ``prepared`` holds messages already in memory (from the flush that built them), by id; the others are read
    from storage. Rows not claimable (already sent, being sent, gone) are reported and left alone.
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
            results[pk] = SendResult(status=current.get(pk, "missing"),
                                     detail="not claimable (already sent, sending or gone)")
    return results


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

    def send(self, message: EmailMessage) -> int:
        if self.keep_open and self.connection.connection is None:
            self.opened = bool(self.connection.open()) or self.opened
        try:
            return int(self.connection.send_messages([message]))
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
        if not mailer.send(StoredEmail(raw, sender, recipients)):
            raise smtplib.SMTPException("the mail backend reported nothing sent")
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if is_permanent(exc):
            return _finish_failed(outbound, f"the server refused the message: {error}")
        if outbound.attempts >= max_attempts():
            return _finish_failed(outbound, f"gave up after {outbound.attempts} attempts: {error}")
        delay = backoff(outbound.attempts)
        OutboundMessage.objects.filter(pk=outbound.pk).update(
            status=OutboundStatus.RETRYING, error=error, claimed_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay))
        log.warning("notification %s to %s not sent (attempt %s), retrying in %ss: %s", outbound.pk,
                    Pii.address(recipients[0] if recipients else ""), outbound.attempts, delay, type(exc).__name__)
        return SendResult(OutboundStatus.RETRYING, retry_in=delay, detail=error)
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=OutboundStatus.SENT, sent_at=timezone.now(), error="", claimed_at=None, next_attempt_at=None,
        blob_name=outbound.blob_name if outbound.keep_blob else "")
    if not outbound.keep_blob:
        _delete_blob(outbound.blob_name)
    log.info("notification %s for %s sent as %s", outbound.pk, outbound.issue_key, Pii.message_id(outbound.message_id))
    return SendResult(OutboundStatus.SENT)


def _finish_failed(outbound: OutboundMessage, error: str) -> SendResult:
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        status=OutboundStatus.FAILED, error=error, claimed_at=None, next_attempt_at=None,
        blob_name=outbound.blob_name if outbound.keep_blob else "")
    if not outbound.keep_blob:
        _delete_blob(outbound.blob_name)
    log.error("notification %s for %s failed: %s", outbound.pk, outbound.issue_key, error)
    return SendResult(OutboundStatus.FAILED, detail=error)


def _delete_blob(name: str) -> None:
    if name:
        try:
            blob_storage().delete(name)
        except Exception:  # the purge task retries deletion of anything left behind
            log.warning("stored outbound message %s could not be deleted", name)


def _header(raw: bytes, name: str) -> str:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    from email.parser import BytesHeaderParser

    value = BytesHeaderParser().parsebytes(head + b"\n\n").get(name)
    return str(value) if value else ""
