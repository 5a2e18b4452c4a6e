"""Rule: create-only mappings never comment; comment-only mappings never create."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.steps.association import missing_note
from inbound.pipeline.steps.limited import limited


class OperatingMode:
    name = "operating_mode"
    description = "Create-only mappings never comment; comment-only mappings never create."

    def __call__(self, ctx: Context) -> Verdict:
        mode = ctx.mapping.operating_mode
        decisions = ctx.decisions
        if mode == "create_only" and decisions.issue is not None:
            previous = decisions.issue.key
            decisions.issue, decisions.association = None, ""
            return go_on(self.name, f"create-only mapping: a new issue, although the mail refers to {previous}")
        if mode == "comment_only" and decisions.issue is None:
            action = ctx.profile.rejection.comment_only_no_match_action
            note = missing_note(ctx)
            reason = "comment-only mapping and no existing issue found" + (f" ({note})" if note else "")
            return limited(ctx, self.name, action, reason, "comment_only_no_match")
        return go_on(self.name, f"mode {mode.replace('_', ' ')}")
