"""Filter: the profile's own rules (header patterns, blocked subjects, sender include/exclude lists)."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action
from profiles.filtering import match_filter_rules


class FilterRules:
    name = "filter_rules"
    description = "The profile's own rules: header patterns, blocked subjects, sender include/exclude lists."

    def __call__(self, ctx: Context) -> Verdict:
        hit = match_filter_rules(ctx.profile, ctx.mail.facts)
        if hit is None:
            return go_on(self.name, "no filter rule applies")
        return by_action(self.name, hit.action, hit.reason)
