"""Threads in order: a reply whose request was captured but is not processed yet waits for it.

Without this, a reply processed before (or while) its request is would find no issue to comment on and become a
new issue (seen after an outage, when requests and replies arrive in one poll and two workers share them). A reply
waits (released, no attempt spent, retried shortly) until every captured message it names in In-Reply-To or
References has an outcome, for at most ``JEMH_THREAD_WAIT_SECONDS`` after its capture; then it is processed anyway
and its report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from inbound.mime import ParsedMessage
from inbound.models import InboundMessage, InboundStatus
from jemh.crypto import keyed_hash_candidates

UNFINISHED = (InboundStatus.RECEIVED, InboundStatus.PROCESSING, InboundStatus.FAILED)


@dataclass(frozen=True)
class Wait:
    """The message waits for these captured, unprocessed messages (audit row ids)."""

    blockers: frozenset[int]


def wait_limit() -> timedelta:
    return timedelta(seconds=getattr(settings, "JEMH_THREAD_WAIT_SECONDS", 120))


def unprocessed_references(message: InboundMessage, parsed: ParsedMessage) -> frozenset[int]:
    """The audit rows of the same instance, not yet processed, whose Message-ID the message refers to."""
    named = {parsed.in_reply_to, *parsed.references} - {"", parsed.message_id}
    if not named:
        return frozenset()
    hashes = {h for message_id in named for h in keyed_hash_candidates(message_id, purpose="message-id")}
    rows = InboundMessage.objects.filter(
        instance_id=message.instance_id, message_id_hash__in=hashes, status__in=UNFINISHED
    ).exclude(pk=message.pk)
    return frozenset(rows.values_list("pk", flat=True))


def waits_for(message: InboundMessage, parsed: ParsedMessage, now: datetime) -> tuple[Wait | None, str]:
    """Whether the message must wait, and otherwise a note for its report when it stopped waiting (else "")."""
    blockers = unprocessed_references(message, parsed)
    if not blockers:
        return None, ""
    if now - message.created_at < wait_limit():
        return Wait(blockers), ""
    ids = ", ".join(f"#{pk}" for pk in sorted(blockers))
    return None, (
        f"processed without waiting for {ids}, which it replies to: not processed within "
        f"{int(wait_limit().total_seconds())} s of this message's capture (it may start a new thread)"
    )
