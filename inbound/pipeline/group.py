"""A group of captured messages processed as one unit of work, and what their runs share.

Capture queues mail in small groups; processing them together lets one query answer a question for every
message of the group instead of one query per message. Answers are computed on first use, for the whole group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from inbound.flood import earlier_by_message
from inbound.models import InboundMessage
from profiles.services import OwnAddresses, current_own_addresses
from trackers.interface import Tracker

log = logging.getLogger(__name__)


class Group:
    """The claimed messages of one unit of work (in processing order)."""

    def __init__(self, messages: list[InboundMessage], make_tracker: Callable[[Any], Tracker]) -> None:
        self.messages = messages
        self._make_tracker = make_tracker
        self._trackers: dict[int, Tracker] = {}
        self._earlier: dict[int, int] | None = None
        self._own: dict[int, OwnAddresses] = {}

    def tracker(self, instance: Any) -> Tracker:
        """The instance's tracker for this group (its look-ups serve every message), made on first use; the
        senders of the group's messages are then looked up at once."""
        if instance.pk not in self._trackers:
            tracker = self._trackers[instance.pk] = self._make_tracker(instance)
            senders = [m.sender for m in self.messages if m.instance_id == instance.pk and m.sender]
            if len(senders) > 1:
                try:
                    tracker.find_users_by_email(senders)
                except Exception as exc:  # only a head start: each message still looks its sender up
                    log.warning(
                        "could not look up the senders of inbound #%s..: %s", self.messages[0].pk, type(exc).__name__
                    )
        return self._trackers[instance.pk]

    def earlier_from_sender(self, inbound_id: int, now: datetime) -> int | None:
        """How many messages of the same instance and sender arrived in the hour before ``now`` and before
        this one (lower id); None when ``inbound_id`` is not in the group or has no sender."""
        if self._earlier is None:
            self._earlier = earlier_by_message(self.messages, now)
        return self._earlier.get(inbound_id)

    def own_addresses(self, instance_id: int) -> OwnAddresses:
        """The instance's own addresses (catch and reply addresses of its profiles), read once per group."""
        if instance_id not in self._own:
            self._own[instance_id] = current_own_addresses(instance_id)
        return self._own[instance_id]


def own_addresses(group: Group | None, instance_id: int) -> OwnAddresses:
    return group.own_addresses(instance_id) if group is not None else current_own_addresses(instance_id)
