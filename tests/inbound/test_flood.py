"""Flood counts read from the audit: per message, and for a whole group at once (the same answers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inbound.capture import record_without_source
from inbound.flood import FLOOD_WINDOW, earlier_by_message, earlier_from_sender, sender_hashes
from inbound.models import InboundMessage
from jemh.models import Instance
from tests.inbound.conftest import make_message

pytestmark = pytest.mark.django_db


def test_counts_only_the_same_senders_earlier_mail_within_the_window(instance: Any) -> None:
    other = Instance.objects.create(name="Other")
    now = timezone.now()

    def arrived(sender: str, ago: timedelta, where: Any = instance) -> InboundMessage:
        message = record_without_source(where.pk, make_message(sender=sender))
        InboundMessage.objects.filter(pk=message.pk).update(received_at=now - ago)
        return InboundMessage.objects.get(pk=message.pk)

    arrived("ann@example.test", FLOOD_WINDOW + timedelta(minutes=1))  # too old
    arrived("ann@example.test", timedelta(minutes=50), where=other)  # another instance
    arrived("bob@example.test", timedelta(minutes=40))  # another sender
    first = arrived("ann@example.test", timedelta(minutes=30))
    second = arrived("ANN@example.test", timedelta(minutes=20))  # the same address, written otherwise
    third = arrived("ann@example.test", timedelta(minutes=10))
    ann = [first.sender_hash]
    assert earlier_from_sender(instance.pk, ann, now, before_id=first.pk) == 0
    assert earlier_from_sender(instance.pk, ann, now, before_id=third.pk) == 2
    assert earlier_from_sender(instance.pk, ann, now) == 3  # a dry run: every message of the window
    group = list(InboundMessage.objects.filter(instance=instance).order_by("pk"))
    counts = earlier_by_message(group, now)
    assert counts == {m.pk: earlier_from_sender(m.instance_id, sender_hashes(m), now, before_id=m.pk) for m in group}
    assert [counts[m.pk] for m in (first, second, third)] == [0, 1, 2]
