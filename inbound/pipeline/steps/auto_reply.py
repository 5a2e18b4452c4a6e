"""Filter: out-of-office and other automatic replies."""

from __future__ import annotations

from inbound.pipeline.steps.classified import ClassifiedFilter


class AutoReply(ClassifiedFilter):
    name = "auto_reply"
    description = "Out-of-office and other automatic replies."
    flag, setting, label = "auto_reply", "auto_reply_action", "an automatic reply"
