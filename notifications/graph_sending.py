"""Sending through Microsoft Graph (``POST /users/{mailbox}/sendMail``) for an instance configured to (its
``graph_send_as`` mailbox), as the instance's Microsoft OAuth app (client credentials, ``Mail.Send``).

The built message goes as it is: MIME, base64-encoded, ``Content-Type: text/plain`` (Graph's MIME form of sendMail),
so its threading and loop-safety headers are kept. Graph takes the recipients from the MIME headers; an envelope
recipient the headers do not name is added as ``Bcc``. Failures are told apart as SMTP's are
(:mod:`notifications.mailer`): unreachable, throttled, refused credentials or a Graph fault is an outage (the mail
waits, no attempt spent); no answer after the whole request went out is an uncertain delivery; any other refusal of
the message (400...) is final.
"""

from __future__ import annotations

import base64
import smtplib
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from urllib.parse import quote

from jemh.models import Instance, OAuthApp, OAuthProvider
from jemh.msgraph.client import GraphClient, GraphError, GraphThrottled, GraphUnreachable
from jemh.msgraph.tokens import TokenError, app_token
from notifications.mailer_errors import DeliveryUncertain, SmtpOutage

ACCEPTED_HEADERS = ("To", "Cc", "Bcc")


class GraphSender:
    """One instance's mail through Graph, as ``mailbox``."""

    def __init__(self, app: OAuthApp, mailbox: str) -> None:
        self.mailbox = mailbox
        self.client = GraphClient(lambda fresh: app_token(app, fresh=fresh))
        self.path = f"/users/{quote(mailbox, safe='@')}/sendMail"

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> int:
        data = base64.b64encode(with_recipients(raw, recipients))
        try:
            self.client.request("POST", self.path, content=data, headers={"Content-Type": "text/plain"})
        except GraphUnreachable as exc:
            raise (DeliveryUncertain(exc) if exc.maybe_done else SmtpOutage(exc)) from exc
        except (GraphThrottled, TokenError) as exc:
            raise SmtpOutage(exc) from exc
        except GraphError as exc:
            if exc.status in (401, 403) or exc.status >= 500:  # the app's credentials or permissions, or Graph itself
                raise SmtpOutage(exc) from exc
            raise smtplib.SMTPResponseException(554, f"Microsoft Graph refused the message: {exc}".encode()) from exc
        return len(recipients)

    def close(self) -> None:
        self.client.close()


def with_recipients(raw: bytes, recipients: Sequence[str]) -> bytes:
    """``raw`` with a ``Bcc`` header naming the envelope recipients its To, Cc and Bcc headers do not."""
    headers = BytesHeaderParser().parsebytes(raw)
    values = [value for name in ACCEPTED_HEADERS for value in headers.get_all(name, [])]
    named = {address.lower() for _, address in getaddresses(values)}
    missing = [r for r in recipients if r.lower() not in named]
    if not missing:
        return raw
    return f"Bcc: {', '.join(missing)}\r\n".encode() + raw


def sender_for(instance_id: int | None) -> GraphSender | None:
    """The Graph sender of an instance configured to send through Graph, else None (SMTP or the configured
    backend). Raises :class:`SmtpOutage` when Graph is configured but the instance has no Microsoft OAuth app."""
    if instance_id is None:
        return None
    mailbox = Instance.objects.filter(pk=instance_id).values_list("graph_send_as", flat=True).first()
    if not mailbox:
        return None
    app = OAuthApp.objects.filter(instance_id=instance_id, provider=OAuthProvider.MICROSOFT).first()
    if app is None:
        raise SmtpOutage(
            RuntimeError("the instance sends through Microsoft Graph but has no Microsoft OAuth app configured")
        )
    return GraphSender(app, mailbox)
