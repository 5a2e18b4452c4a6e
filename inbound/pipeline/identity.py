"""Identifying the sender of the message in hand: the source's trusted ``Authentication-Results`` under the
profile's sender-authentication setting, and the tracker account (once per message, on first use)."""

from __future__ import annotations

from inbound.mime.authentication import authentication_verdict
from inbound.pipeline.context import Context
from inbound.pipeline.sender import Sender
from profiles.choices import SenderAuthentication
from trackers.interface import usable_address


def identify(ctx: Context) -> Sender:
    """The message's sender (computed once per context: one tracker look-up)."""
    if ctx.decisions.sender is None:
        ctx.decisions.sender = _identify(ctx)
    return ctx.decisions.sender


def _identify(ctx: Context) -> Sender:
    email = ctx.mail.sender_email
    verdict = authentication_verdict(ctx.message.headers, ctx.mail.trusted_authserv_ids, email)
    found = ctx.tracker.find_user_by_email(email) if usable_address(email) else None
    mode = ctx.profile.sender_authentication
    envelope = verdict.envelope_sender
    if mode == SenderAuthentication.IGNORE:
        reason = "the profile trusts the From address (sender authentication: ignore)"
        return Sender(email, found, True, reason, verdict, email)
    if verdict.authenticated:
        return Sender(email, found, True, verdict.reason, verdict, email)
    if mode == SenderAuthentication.PREFER and found is not None and not verdict.failed:
        reason = f"{verdict.reason}; matched to the account anyway (prefer), with an e-mail-only sender's rights"
        return Sender(email, found, False, reason, verdict, envelope)
    reason = verdict.reason
    if found is not None:
        reason += "; the address has an account, but unauthenticated mail may not act as it: e-mail-only"
    return Sender(email, None, False, reason, verdict, envelope)
