"""Filter: mail an upstream filter marked as spam."""

from __future__ import annotations

from inbound.pipeline.steps.classified import ClassifiedFilter


class Spam(ClassifiedFilter):
    name = "spam"
    description = "Mail an upstream filter marked as spam."
    flag, setting, label = "spam", "spam_action", "marked as spam"
