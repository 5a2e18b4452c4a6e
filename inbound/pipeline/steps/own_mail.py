"""Filter: our own outbound mail coming back is a loop."""

from __future__ import annotations

from inbound.pipeline.steps.classified import ClassifiedFilter


class OwnMail(ClassifiedFilter):
    name = "own_mail"
    description = "Our own outbound mail coming back (fingerprint header or our Message-ID domain) is a loop."
    flag, setting, label = "loop", "own_mail_action", "our own mail (loop)"
