"""Flood counts: how many messages a sender sent us within the flood window, read from the inbound audit.

The pipeline's flood filter compares them with the profile's hourly limit. A message counts only the messages of
the same instance and sender that arrived before it (a lower audit id) and within the window before ``now``. A
sender is found under every hash its rows may carry (``sender_hashes``: rows hashed before JEMH_INDEX_KEY count).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Count

from inbound.models import InboundMessage
from jemh.crypto import keyed_hash_candidates

FLOOD_WINDOW = timedelta(hours=1)


def sender_hashes(message: InboundMessage) -> tuple[str, ...]:
    """The hashes a row from the same sender may carry: its own, and the sender's keyed_hash_candidates."""
    if not message.sender_hash:
        return ()
    return tuple(dict.fromkeys([message.sender_hash, *keyed_hash_candidates(message.sender, purpose="address")]))


def earlier_from_sender(instance_id: int, hashes: Sequence[str], now: datetime, *, before_id: int | None = None) -> int:
    """How many messages of the instance from the sender (under any of its ``hashes``) arrived in the window before
    ``now``, and before the audit row ``before_id`` when given (a dry run has none: every message counts)."""
    recent = InboundMessage.objects.filter(
        instance_id=instance_id, sender_hash__in=list(hashes), received_at__gte=now - FLOOD_WINDOW
    )
    if before_id is not None:
        recent = recent.filter(pk__lt=before_id)
    return recent.count()


def earlier_by_message(messages: Sequence[InboundMessage], now: datetime) -> dict[int, int]:
    """``earlier_from_sender`` for each message with a sender, by audit id, in two queries for them all: one
    grouped count of those older than the whole group, plus the few in the group's own id range, counted here."""
    counted = [m for m in messages if m.sender_hash]
    if not counted:
        return {}
    hashes = {m.pk: sender_hashes(m) for m in counted}
    first, last = min(m.pk for m in counted), max(m.pk for m in counted)
    recent = InboundMessage.objects.filter(
        received_at__gte=now - FLOOD_WINDOW,
        sender_hash__in={h for m in counted for h in hashes[m.pk]},
        instance_id__in={m.instance_id for m in counted},
    )
    before: dict[tuple[int, str], int] = {
        (row["instance_id"], row["sender_hash"]): row["n"]
        for row in recent.filter(pk__lt=first).order_by().values("instance_id", "sender_hash").annotate(n=Count("pk"))
    }
    within = list(recent.filter(pk__gte=first, pk__lt=last).values_list("instance_id", "sender_hash", "pk"))
    return {
        m.pk: sum(before.get((m.instance_id, h), 0) for h in hashes[m.pk])
        + sum(1 for i, h, pk in within if i == m.instance_id and h in hashes[m.pk] and pk < m.pk)
        for m in counted
    }
