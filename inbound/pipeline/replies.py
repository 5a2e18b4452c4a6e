"""Mail the pipeline itself sends: a polite hint to a rejected sender, and forwarding to the profile's
forward-to addresses. Both carry our loop-safety headers, and hints never go to automated mail."""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage

from inbound.pipeline.context import Context
from jemh.logging import Pii
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
        mail.send()
    except Exception as exc:  # a hint is a courtesy: its failure must not fail the message
        log.warning("hint to %s not sent: %s", Pii.address(reply_to), exc)
        return f"not sent: {type(exc).__name__}"
    return f"sent ({hint_decided.reason})"


def forward_original(ctx: Context, reason: str) -> int:
    """Forward the original message, attached whole, to the profile's forward-to addresses."""
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
    mail.send()
    return len(targets)
