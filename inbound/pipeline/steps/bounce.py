"""Filter: delivery failure reports (bounces), with the recipients that bounced in the verdict."""

from __future__ import annotations

from dataclasses import replace

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict
from inbound.pipeline.steps.classified import ClassifiedFilter


class Bounce(ClassifiedFilter):
    name = "bounce"
    description = "Delivery failure reports (bounces)."
    flag, setting, label = "bounce", "bounce_action", "a bounce"

    def __call__(self, ctx: Context) -> Verdict:
        verdict = super().__call__(ctx)
        classification = ctx.message.classification
        if not classification.bounce:
            return verdict
        return replace(
            verdict, details={**verdict.details, "bounced_recipients": list(classification.bounced_recipients)}
        )
