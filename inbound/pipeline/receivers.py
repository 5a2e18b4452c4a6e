"""Connects captured mail to processing: the messages of each committed capture are queued in groups (one broker
round trip, one claim, one write of the outcomes per group instead of per message). A group is at most what one
capture commits (a source fetches 25 messages at a time), so while a mailbox is drained every worker gets groups.
Connected to ``inbound.signals.messages_captured`` by ``InboundConfig.ready``."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from inbound.pipeline.tasks import GROUP_SIZE, process_group, process_messages

log = logging.getLogger(__name__)


def queue_captured(sender: Any, messages: list[Any], **kwargs: Any) -> None:
    ids = [message.pk for message in messages]
    if getattr(settings, "JEMH_PROCESS_INLINE", False):
        process_group(ids)
        return
    for start in range(0, len(ids), GROUP_SIZE):
        group = ids[start : start + GROUP_SIZE]
        try:
            process_messages.delay(group)
        except Exception:  # broker down: the resume_processing sweep queues them later; nothing is lost
            log.warning("could not queue inbound #%s..#%s; the sweep will retry", group[0], group[-1])
