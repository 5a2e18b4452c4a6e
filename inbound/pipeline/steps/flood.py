"""Filter: a sender sending more than the hourly limit is held back. The count comes from ``ctx.lookups``
(the database in production: ``inbound.pipeline.lookups``)."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action


class Flood:
    name = "flood"
    description = "A sender sending more than the hourly limit is held back."

    def __call__(self, ctx: Context) -> Verdict:
        limit = ctx.profile.filters.flood_limit_per_hour
        if not limit or not ctx.mail.sender_hash:
            return go_on(self.name, "no flood limit" if not limit else "no sender to count")
        count = ctx.lookups.earlier_from_sender(ctx.mail, ctx.now)
        if count < limit:
            return go_on(self.name, f"{count} earlier message(s) from this sender in the last hour (limit {limit})")
        return by_action(
            self.name,
            ctx.profile.filters.flood_action,
            f"flood: {count} messages from this sender in the last hour (limit {limit})",
        )
