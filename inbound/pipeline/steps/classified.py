"""What the classification filters share: a filter on one verdict of the message classification
(``inbound.mime``), with the profile's action for it."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action


class ClassifiedFilter:
    """Base of the filters on one classification flag; subclasses set the class attributes."""

    name = ""
    description = ""
    flag = ""  # the MessageClassification attribute
    setting = ""  # the FiltersConfig attribute holding the action
    label = ""

    def __call__(self, ctx: Context) -> Verdict:
        classification = ctx.message.classification
        if not getattr(classification, self.flag):
            return go_on(self.name, f"not {self.label}")
        reasons = [r for r in classification.reasons if r.lower().startswith(self.flag.replace("_", "-"))]
        reasons = reasons or list(classification.reasons)
        return by_action(self.name, getattr(ctx.profile.filters, self.setting), f"{self.label}: {'; '.join(reasons)}")
