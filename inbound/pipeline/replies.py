"""Mail the pipeline itself sends: a polite hint to a rejected sender, and forwarding to the profile's
forward-to addresses. Both carry our loop-safety headers, and hints never go to automated mail.

Both are recorded and sent by the notifications app (:func:`notifications.services.send_mail`), which owns the
outbound audit: each is an ``OutboundMessage`` of kind ``hint`` or ``forward`` linked to the inbound message,
retried through an SMTP outage, and sent once per inbound message however often it is processed (the
idempotency key names the message and the kind)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q

from inbound.models import HintGrace
from inbound.pipeline.context import Context
from inbound.pipeline.identity import identify
from jemh.crypto import keyed_hash
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


HINT_SUBJECT_MAX = 60  # characters of the rejected mail's subject a hint repeats (the only text of the mail it quotes)


def quoted_subject(subject: str) -> str:
    """The rejected mail's subject as a hint may repeat it: on one line, cut to HINT_SUBJECT_MAX characters."""
    line = " ".join("".join(c if c.isprintable() else " " for c in subject or "").split())
    return line if len(line) <= HINT_SUBJECT_MAX else line[: HINT_SUBJECT_MAX - 1].rstrip() + "…"


def claim_hint_slot(ctx: Context, recipient: str, reason: str) -> bool:
    """Whether a hint for ``reason`` may go to ``recipient`` now: none went there in the profile's grace period
    (then the slot is taken, race-free: two workers never both get it)."""
    hours = ctx.profile.hints.grace_hours
    if hours <= 0:
        return True
    now, digest, inbound_id = ctx.now, keyed_hash(recipient.lower()), ctx.mail.inbound_id
    slots = HintGrace.objects.filter(instance_id=ctx.mail.instance_id, recipient_hash=digest, reason=reason)
    free = Q(sent_at__lte=now - timedelta(hours=hours))
    if inbound_id is not None:
        free |= Q(inbound_id=inbound_id)  # this message took it before: a rerun (send_mail sends no second copy)
    if slots.filter(free).update(sent_at=now, inbound_id=inbound_id):
        return True
    if slots.exists():
        return False
    try:
        with transaction.atomic():
            HintGrace.objects.create(
                instance_id=ctx.mail.instance_id,
                recipient_hash=digest,
                reason=reason,
                sent_at=now,
                inbound_id=inbound_id,
            )
    except IntegrityError:
        return False  # another worker took it a moment ago
    return True


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
    recipient = identify(ctx).hint_address
    if not recipient:
        return "not sent: the sender is not authenticated (a hint never goes to an address the mail alone names)"
    if not claim_hint_slot(ctx, recipient, hint_decided.reason):
        hours = ctx.profile.hints.grace_hours
        return f"not sent: a hint for this reason went to this address in the last {hours} hour(s)"
    subject, text = hint.render(subject=quoted_subject(ctx.message.subject), sender=recipient, **hint_decided.context)
    headers = _loop_headers(ctx)
    if ctx.message.message_id:
        headers["In-Reply-To"] = f"<{ctx.message.message_id}>"
        headers["References"] = f"<{ctx.message.message_id}>"
    mail = EmailMessage(
        subject=subject or f"Re: {quoted_subject(ctx.message.subject)}",
        body=text,
        from_email=_from_address(ctx),
        to=[recipient],
        headers=headers,
    )
    try:
        [sent] = _record_and_send(ctx, OutboundKind.HINT, mail)
    except Exception as exc:  # a hint is a courtesy: its failure must not fail the message
        log.warning("hint to %s not recorded: %s", Pii.address(recipient), exc)
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
