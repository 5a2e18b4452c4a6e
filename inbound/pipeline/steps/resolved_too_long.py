"""Rule: a comment on an issue resolved more than N days ago is rejected or becomes a new linked issue."""

from __future__ import annotations

from datetime import timedelta

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from inbound.pipeline.step import unknown_action


class ResolvedTooLong:
    name = "resolved_too_long"
    description = "A comment on an issue resolved more than N days ago is rejected or becomes a new linked issue."

    def __call__(self, ctx: Context) -> Verdict:
        days = ctx.profile.rejection.resolved_reject_after_days
        decisions = ctx.decisions
        issue = decisions.issue
        if issue is None or days is None or issue.resolved_at is None:
            return go_on(self.name, "not a comment on a resolved issue" if days is not None else "no such rule")
        age = ctx.now - issue.resolved_at
        if age <= timedelta(days=days):
            return go_on(self.name, f"{issue.key} was resolved {age.days} day(s) ago (limit {days})")
        action = ctx.profile.rejection.resolved_action
        if action not in ("reject", "create_linked"):
            return unknown_action(self.name, action, f"{issue.key} was resolved {age.days} days ago")
        if action == "create_linked":
            decisions.linked_issue_key, decisions.issue, decisions.association = issue.key, None, ""
            return go_on(self.name, f"{issue.key} was resolved {age.days} days ago: a new issue linked to it")
        decisions.hint = Hint("resolved_too_long", {"issue_key": issue.key, "days": days})
        return stop(self.name, Outcome.REJECTED, f"{issue.key} was resolved {age.days} days ago (limit {days})")
