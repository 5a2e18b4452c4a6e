"""The pipeline's look-ups outside the tracker, answered from the database: a sender's earlier messages (for
the flood step) and the instance's own addresses. A group of messages answers both for all its messages at once.
"""

from __future__ import annotations

from datetime import datetime

from inbound.flood import earlier_from_sender
from inbound.pipeline.context import Mail
from inbound.pipeline.group import Group, own_addresses
from profiles.services import OwnAddresses


def recent_from_sender(mail: Mail, now: datetime) -> int:
    """The messages of the mail's instance and sender received in the flood window before it (lower id).

    The one database query of the flood step."""
    hashes = mail.sender_hashes or (mail.sender_hash,)
    return earlier_from_sender(mail.instance_id, hashes, now, before_id=mail.inbound_id)


class DatabaseLookups:
    """Lookups for one instance, through the message's group when it has one."""

    def __init__(self, instance_id: int, group: Group | None = None) -> None:
        self.instance_id = instance_id
        self.group = group

    def earlier_from_sender(self, mail: Mail, now: datetime) -> int:
        count = None
        if self.group is not None and mail.inbound_id is not None:
            count = self.group.earlier_from_sender(mail.inbound_id, now)
        return recent_from_sender(mail, now) if count is None else count

    def own_addresses(self) -> OwnAddresses:
        return own_addresses(self.group, self.instance_id)
