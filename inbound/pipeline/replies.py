"""Mail the pipeline itself sends: a polite hint to a rejected sender, and forwarding to the profile's
forward-to addresses. Both carry our loop-safety headers, and hints never go to automated mail.

Both are recorded and sent by the notifications app (:func:`notifications.services.send_mail`), which owns the
outbound audit: each is an ``OutboundMessage`` of kind ``hint`` or ``forward`` linked to the inbound message,
retried through an SMTP outage, and sent once per inbound message however often it is processed (the
idempotency key names the message and the kind)."""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage

from inbound.pipeline.context import Context
from jemh.logging import Pii
from notifications.choices import OutboundKind, OutboundStatus
from notifications.services import SentMail, send_mail
from notifications.threading import fingerprint_for, message_id_domain

log = logging.getLogger(__name__)


def _loop_headers(ctx: Context) -> dict[str, str]:
    return {
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "X-JEMH-Fingerprint": fingerprint_for(ctx.mail.instance_id),
        "Message-ID": make_msgid(domain=message_id_domain()),
    }


def _from_address(ctx: Context) -> str:
    return ctx.profile.reply_address or settings.DEFAULT_FROM_EMAIL


def send_hint(ctx: Context) -> str:
    """Tell the sender why their mail was rejected. Returns what happened, for the report."""
    hint_decided = ctx.decisions.hint
    assert hint_decided is not None
    classification = ctx.message.classification
    if (
        classification.auto_reply
        or classification.bounce
        or classification.bulk
        or classification.list
        or classification.loop
        or classification.spam
    ):
        return "not sent: the rejected mail was automated (auto-reply, bounce, bulk, list, spam or our own)"
    hint = ctx.profile.hints.for_reason(hint_decided.reason)
    if hint is None:
        return "not sent: hints for this reason are switched off"
    reply_to = ctx.message.reply_to[0].email if ctx.message.reply_to else ctx.mail.sender_email
    if not reply_to:
        return "not sent: no address to reply to"
    subject, text = hint.render(subject=ctx.message.subject, sender=ctx.mail.sender_email, **hint_decided.context)
    headers = _loop_headers(ctx)
    if ctx.message.message_id:
        headers["In-Reply-To"] = f"<{ctx.message.message_id}>"
        headers["References"] = f"<{ctx.message.message_id}>"
    mail = EmailMessage(
        subject=subject or f"Re: {ctx.message.subject}",
        body=text,
        from_email=_from_address(ctx),
        to=[reply_to],
        headers=headers,
    )
    try:
        [sent] = _record_and_send(ctx, OutboundKind.HINT, mail)
    except Exception as exc:  # a hint is a courtesy: its failure must not fail the message
        log.warning("hint to %s not recorded: %s", Pii.address(reply_to), exc)
        return f"not sent: {type(exc).__name__}"
    return _hint_note(sent, hint_decided.reason)


def _record_and_send(ctx: Context, kind: str, mail: EmailMessage) -> list[SentMail]:
    inbound_id = ctx.mail.inbound_id
    issue = ctx.decisions.issue
    return send_mail(
        kind=kind,
        instance=ctx.mail.instance_id,
        message=mail,
        inbound_id=inbound_id,
        issue_key=issue.key if issue is not None else "",
        idempotency_key=f"inbound:{inbound_id}:{kind}" if inbound_id is not None else "",
    )


def _hint_note(sent: SentMail, reason: str) -> str:
    """What became of a hint, for the report."""
    if sent.duplicate:
        return f"not sent again: sent for an earlier run of this message (outbound #{sent.outbound_id}, {sent.status})"
    if sent.status == OutboundStatus.SENT:
        return f"sent ({reason})"
    if sent.status == OutboundStatus.FAILED:
        return f"not sent: {sent.detail} (outbound #{sent.outbound_id})"
    return f"queued, to be retried: {sent.detail or 'waiting to be sent'} (outbound #{sent.outbound_id}, {reason})"


def forward_original(ctx: Context, reason: str) -> int:
    """Forward the original message, attached whole, to the profile's forward-to addresses (each its own copy);
    the number of addresses it is recorded for (sent now, or retried later by the notifications app)."""
    targets = [address for address in ctx.profile.forward_to if address]
    if not targets:
        return 0
    mail = EmailMessage(
        subject=f"[JEMH forwarded] {ctx.message.subject}"[:200],
        body=f"This message was forwarded by the mail handler's profile {ctx.profile.name!r}.\nReason: {reason}\n",
        from_email=_from_address(ctx),
        to=targets,
        headers=_loop_headers(ctx),
    )
    mail.attach("original.eml", ctx.mail.raw, "message/rfc822")
    return len(_record_and_send(ctx, OutboundKind.FORWARD, mail))
