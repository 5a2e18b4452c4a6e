"""Rule: who may write to an issue. A comment is taken from the issue's reporter, assignee, watchers and
participants, and from accounts allowed to comment in its project; mail from anyone else that names the issue
follows the mapping's stranger action: held for an agent, a new issue linked to it, or rejected with a hint."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.identity import identify
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from inbound.pipeline.sender import Sender, takes_part
from inbound.pipeline.step import unknown_action
from profiles.choices import OperatingMode, StrangerAction
from trackers.interface import Permission, TrackerIssue


def may_write(ctx: Context, issue: TrackerIssue, sender: Sender) -> str:
    """Why ``sender`` may write to ``issue`` (they take part in it, or their authenticated account may comment in
    its project); "" when they may not."""
    if takes_part(issue, sender.email):
        return f"the sender takes part in {issue.key}"
    account = sender.trusted_account
    if account is not None:
        held = ctx.tracker.project_permissions(account.account_id, issue.project_key, (Permission.ADD_COMMENTS,))
        if Permission.ADD_COMMENTS in held:
            return f"the sender's account may comment in {issue.project_key}"
    return ""


class Writers:
    name = "writers"
    description = "Only people on the issue and accounts allowed to comment in its project may add to it."

    def __call__(self, ctx: Context) -> Verdict:
        issue = ctx.decisions.issue
        if issue is None:
            return go_on(self.name, "not a comment")
        allowed = may_write(ctx, issue, identify(ctx))
        if allowed:
            return go_on(self.name, allowed)
        why = f"the sender may not write to {issue.key} (not on the issue, nor an authenticated account allowed to "
        why += f"comment in {issue.project_key})"
        action = ctx.mapping.stranger_action
        if action not in StrangerAction.values:
            return unknown_action(self.name, action, why)
        if action == StrangerAction.NEW_ISSUE and ctx.mapping.operating_mode == OperatingMode.COMMENT_ONLY:
            return stop(self.name, Outcome.FILTERED, f"{why}; the mapping only comments: held for an agent")
        if action == StrangerAction.NEW_ISSUE:
            decisions = ctx.decisions
            decisions.linked_issue_key, decisions.issue, decisions.association = issue.key, None, ""
            decisions.linked_because = "written by someone not taking part in it"
            return go_on(self.name, f"{why}: a new issue linked to it")
        if action == StrangerAction.REJECT:
            ctx.decisions.hint = Hint("not_allowed_to_write", {"issue_key": issue.key})
            return stop(self.name, Outcome.REJECTED, f"{why}: rejected")
        return stop(self.name, Outcome.FILTERED, f"{why}: held for an agent", issue=issue.key, held=True)
