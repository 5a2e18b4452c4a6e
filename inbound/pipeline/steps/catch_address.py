"""Filter: only mail sent to one of the profile's catch addresses is processed."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action
from profiles.routing import matches_catch_address


class CatchAddress:
    name = "catch_address"
    description = "Only mail sent to one of the profile's catch addresses is processed."

    def __call__(self, ctx: Context) -> Verdict:
        if not ctx.profile.catch_addresses:
            return go_on(self.name, "the profile has no catch addresses: every message is taken")
        if matches_catch_address(ctx.profile, ctx.mail.facts.recipients):
            return go_on(self.name, "sent to a catch address")
        return by_action(self.name, ctx.profile.non_catch_action, "not sent to any catch address of the profile")
