"""Filter: bulk and mailing-list mail."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action


class BulkOrList:
    name = "bulk"
    description = "Bulk and mailing-list mail (Precedence, List-Id, List-Unsubscribe)."

    def __call__(self, ctx: Context) -> Verdict:
        classification = ctx.message.classification
        if not (classification.bulk or classification.list):
            return go_on(self.name, "not bulk or list mail")
        reasons = [r for r in classification.reasons if r.lower().startswith(("bulk", "list"))]
        return by_action(
            self.name,
            ctx.profile.filters.bulk_action,
            f"bulk or list mail: {'; '.join(reasons or classification.reasons)}",
        )
