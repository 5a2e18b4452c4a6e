"""The mail session of a batch, and what a failed send means: an outage, a refusal, or an uncertain delivery.

:class:`Mailer` sends built messages through Django's email backend. Over SMTP it keeps one session open for a
batch and talks SMTP step by step (EHLO, MAIL, RCPT, DATA, the message, the final reply) so that a failure can be
told apart by *when* it happened:

- :class:`SmtpOutage`: the server could not be used at all (connection refused or timed out, DNS, TLS or login
  failing, a 4xx greeting or ``421``, the connection dropped before the message's final dot was sent). The
  message played no part: no attempt of it is spent, the sending waits until the server is back.
- :class:`DeliveryUncertain`: the whole message was sent, but the connection dropped (or timed out) before the
  server's final reply: the server may have accepted it. Only SMTP itself can be blamed for a double here.
- any other ``smtplib.SMTPException``: the server answered about *this* message (a 5xx refusal is final, a 4xx
  one is worth another attempt, see :func:`is_permanent`).

Other backends (files, memory) have no outages: what they raise is a failure of the message.

An instance configured to send through Microsoft Graph (``Instance.graph_send_as``) has its mail sent with Graph's
``sendMail`` instead, whatever the backend (:mod:`notifications.graph_sending`, with the same failure classes).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

from notifications.graph_sending import GraphSender, sender_for
from notifications.mailer_errors import DeliveryUncertain, SmtpOutage
from notifications.messages import StoredEmail

__all__ = ["DeliveryUncertain", "Mailer", "SmtpOutage", "is_permanent"]

CRLF = re.compile(rb"\r?\n")
LEADING_DOT = re.compile(rb"(?m)^\.")
SERVICE_UNAVAILABLE = 421  # the server is closing the session: an outage whatever the step


def is_permanent(exc: BaseException) -> bool:
    """5xx answers are final; 4xx answers, dropped connections and network errors are worth retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


class Mailer:
    """Django's email backend, kept open across the messages of a batch when it is SMTP (one session); after
    an error the session is dropped and the next message opens a fresh one."""

    def __init__(self, connection: Any = None) -> None:
        self.connection = connection or get_connection(fail_silently=False)
        self.owned = connection is None
        self.smtp_backend = self.connection if isinstance(self.connection, SmtpBackend) else None
        self.smtp = self.smtp_backend is not None
        self.opened = False
        self.graph: dict[int, GraphSender | None] = {}  # by instance: its Graph sender, or None for the backend

    def send(self, raw: bytes, sender: str, recipients: list[str], instance_id: int | None = None) -> int:
        """Send a built message (of ``instance_id``: through Graph when it is configured to); the number of
        recipients the server accepted. Raises :class:`SmtpOutage`, :class:`DeliveryUncertain` or the server's
        answer about the message (``smtplib.SMTPException``)."""
        if instance_id is not None:
            if instance_id not in self.graph:
                self.graph[instance_id] = sender_for(instance_id)
            graph = self.graph[instance_id]
            if graph is not None:
                return graph.send(raw, sender, recipients)
        backend = self.smtp_backend
        if backend is None:
            return int(self.connection.send_messages([StoredEmail(raw, sender, recipients)]))
        try:
            session = self._open(backend)
            return self._transaction(
                session,
                _envelope(sender),
                [_envelope(r) for r in recipients],
                CRLF.sub(b"\r\n", raw),
            )
        except BaseException:  # the session may be in any state: the next message starts a fresh one
            self._drop()
            raise

    def _open(self, backend: SmtpBackend) -> smtplib.SMTP:
        if backend.connection is None:
            try:
                self.opened = bool(backend.open()) or self.opened
            except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, DNS, TLS, login, 4xx greeting
                raise SmtpOutage(exc) from exc
        if backend.connection is None:  # open() answers None (fail_silently) rather than raise
            raise SmtpOutage(smtplib.SMTPServerDisconnected("the SMTP backend opened no session"))
        return backend.connection

    @staticmethod
    def _transaction(session: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> int:
        """One SMTP mail transaction (what ``smtplib.SMTP.sendmail`` does), step by step so that a dropped
        connection is known to be before the message was complete (an outage) or after (uncertain)."""
        try:
            session.ehlo_or_helo_if_needed()
            options = [f"size={len(data)}"] if session.does_esmtp and session.has_extn("size") else []
            code, reply = session.mail(sender, options)
            if code != 250:
                _refused(session, smtplib.SMTPSenderRefused(code, reply, sender))
            refused: dict[str, tuple[int, bytes]] = {}
            for recipient in recipients:
                code, reply = session.rcpt(recipient)
                if code == SERVICE_UNAVAILABLE:
                    _refused(session, smtplib.SMTPResponseException(code, reply))
                if code not in (250, 251):
                    refused[recipient] = (code, reply)
            if len(refused) == len(recipients):
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    session.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, reply = session.docmd("data")
            if code != 354:
                _refused(session, smtplib.SMTPDataError(code, reply))
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            session.send(LEADING_DOT.sub(b"..", data) + b".\r\n")
        except smtplib.SMTPHeloError as exc:  # the server will not talk to us at all
            raise SmtpOutage(exc) from exc
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):  # an answer about this message
            raise
        except OSError as exc:  # dropped (SMTPServerDisconnected), reset or timed out before the final dot
            raise SmtpOutage(exc) from exc
        try:
            code, reply = session.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:  # timeouts are OSErrors too
            raise DeliveryUncertain(exc) from exc
        if code != 250:
            _refused(session, smtplib.SMTPDataError(code, reply))
        return len(recipients) - len(refused)

    def _drop(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.connection.close()

    def close(self) -> None:
        for graph in self.graph.values():
            if graph is not None:
                graph.close()
        self.graph.clear()
        if self.owned or self.opened:
            self._drop()


def _envelope(address: str) -> str:
    """An envelope address as Django's SMTP backend would give it (IDNA domain, encoded local part when needed)."""
    return address if address.isascii() else sanitize_address(address, settings.DEFAULT_CHARSET)


def _refused(session: smtplib.SMTP, exc: smtplib.SMTPResponseException) -> None:
    """Raise the server's answer about the message; a ``421`` (the server closing the session) is an outage."""
    if exc.smtp_code == SERVICE_UNAVAILABLE:
        raise SmtpOutage(exc) from exc
    with contextlib.suppress(smtplib.SMTPException, OSError):
        session.rset()
    raise exc
