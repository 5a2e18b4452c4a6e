"""Rule: caps comments from mail per issue (in total and per hour) and the size of a body. A body over the
size limit is not cut here: the rule decides ``body_limit`` and the content step cuts the draft's text."""

from __future__ import annotations

from datetime import timedelta

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from inbound.pipeline.step import unknown_action
from inbound.pipeline.steps.limited import limited


def uses_reply_text(ctx: Context) -> bool:
    """A comment takes only the reply text (above the quoted history) when the profile says so."""
    return ctx.decisions.issue is not None and ctx.profile.content.comment_reply_text_only


class LoopLimits:
    name = "loop_limits"
    description = "Caps comments from mail per issue (in total and per hour) and the size of a body."

    def __call__(self, ctx: Context) -> Verdict:
        limits = ctx.profile.limits
        issue = ctx.decisions.issue
        caps = [cap for cap in (limits.max_comments_per_issue, limits.max_comments_per_issue_per_hour) if cap]
        # an issue with fewer comments than every cap cannot have reached one: no need to count (a Jira call)
        below = issue is not None and issue.comment_count is not None and all(issue.comment_count < c for c in caps)
        if issue is not None and caps and not below:
            hour_ago = ctx.now - timedelta(hours=1)
            total, recent = ctx.tracker.count_mail_comments(
                issue.key, since=hour_ago, excluding_message=ctx.mail.inbound_id
            )
            if limits.max_comments_per_issue and total >= limits.max_comments_per_issue:
                return limited(
                    ctx,
                    self.name,
                    limits.comment_limit_action,
                    f"{issue.key} already has {total} comments from mail (limit {limits.max_comments_per_issue})",
                    "comment_limit",
                    limit=limits.max_comments_per_issue,
                )
            if limits.max_comments_per_issue_per_hour and recent >= limits.max_comments_per_issue_per_hour:
                return limited(
                    ctx,
                    self.name,
                    limits.comment_rate_action,
                    f"{issue.key} had {recent} comments from mail in the last hour "
                    f"(limit {limits.max_comments_per_issue_per_hour})",
                    "comment_rate",
                    limit=limits.max_comments_per_issue_per_hour,
                )
        body = ctx.draft.reply if uses_reply_text(ctx) else ctx.draft.body
        if limits.max_body_chars and len(body) > limits.max_body_chars:
            if limits.body_too_large_action not in ("reject", "truncate"):
                return unknown_action(self.name, limits.body_too_large_action, f"body over {limits.max_body_chars}")
            if limits.body_too_large_action == "reject":
                ctx.decisions.hint = Hint("body_too_large", {"limit": limits.max_body_chars})
                return stop(
                    self.name,
                    Outcome.REJECTED,
                    f"body of {len(body)} characters exceeds the limit of {limits.max_body_chars}",
                )
            ctx.decisions.body_limit = limits.max_body_chars
            return go_on(self.name, f"body truncated to {limits.max_body_chars} characters; full text attached")
        return go_on(self.name, "within the limits")
