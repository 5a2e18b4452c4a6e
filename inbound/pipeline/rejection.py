"""Step 6, rejection rules: operating mode, issues resolved too long ago, participants-only, loop limits."""

from __future__ import annotations

from datetime import timedelta

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop

LIMIT_OUTCOMES = {"reject": Outcome.REJECTED, "forward": Outcome.FORWARDED, "drop": Outcome.DROPPED}


def _limited(ctx: Context, step: str, action: str, reason: str, hint: str, **context: object) -> Verdict:
    outcome = LIMIT_OUTCOMES.get(action, Outcome.REJECTED)
    if outcome is Outcome.REJECTED:
        ctx.hint = Hint(hint, {"issue_key": ctx.issue.key if ctx.issue else "", **context})
    return stop(step, outcome, reason, action=action)


class OperatingMode:
    name = "operating_mode"
    description = "Create-only mappings never comment; comment-only mappings never create."

    def __call__(self, ctx: Context) -> Verdict:
        assert ctx.mapping is not None
        mode = ctx.mapping.operating_mode
        if mode == "create_only" and ctx.issue is not None:
            previous = ctx.issue.key
            ctx.issue, ctx.association = None, ""
            return go_on(self.name, f"create-only mapping: a new issue, although the mail refers to {previous}")
        if mode == "comment_only" and ctx.issue is None:
            action = ctx.profile.rejection.comment_only_no_match_action
            return _limited(
                ctx, self.name, action, "comment-only mapping and no existing issue found", "comment_only_no_match"
            )
        return go_on(self.name, f"mode {mode.replace('_', ' ')}")


class ResolvedTooLong:
    name = "resolved_too_long"
    description = "A comment on an issue resolved more than N days ago is rejected or becomes a new linked issue."

    def __call__(self, ctx: Context) -> Verdict:
        days = ctx.profile.rejection.resolved_reject_after_days
        issue = ctx.issue
        if issue is None or days is None or issue.resolved_at is None:
            return go_on(self.name, "not a comment on a resolved issue" if days is not None else "no such rule")
        age = ctx.now - issue.resolved_at
        if age <= timedelta(days=days):
            return go_on(self.name, f"{issue.key} was resolved {age.days} day(s) ago (limit {days})")
        if ctx.profile.rejection.resolved_action == "create_linked":
            ctx.linked_issue_key, ctx.issue, ctx.association = issue.key, None, ""
            return go_on(self.name, f"{issue.key} was resolved {age.days} days ago: a new issue linked to it")
        ctx.hint = Hint("resolved_too_long", {"issue_key": issue.key, "days": days})
        return stop(self.name, Outcome.REJECTED, f"{issue.key} was resolved {age.days} days ago (limit {days})")


class ParticipantsOnly:
    name = "participants_only"
    description = "When on, only the issue's reporter, assignee, watchers and participants may comment."

    def __call__(self, ctx: Context) -> Verdict:
        issue = ctx.issue
        if issue is None or not ctx.profile.rejection.participants_only:
            return go_on(self.name, "not applicable")
        sender = ctx.sender_email
        people = {p.lower() for p in issue.email_participants}
        people.add(issue.email_sender_address.lower())
        for user in (issue.reporter, issue.assignee, *issue.watchers):
            if user is not None:
                people.add(user.email.lower())
        if sender and sender in people:
            return go_on(self.name, "the sender takes part in the issue")
        ctx.hint = Hint("not_participant", {"issue_key": issue.key})
        return stop(self.name, Outcome.REJECTED, f"the sender is not a participant of {issue.key}")


class LoopLimits:
    name = "loop_limits"
    description = "Caps comments from mail per issue (in total and per hour) and the size of a body."

    def __call__(self, ctx: Context) -> Verdict:
        limits = ctx.profile.limits
        if ctx.issue is not None and (limits.max_comments_per_issue or limits.max_comments_per_issue_per_hour):
            from_mail = [
                c
                for c in ctx.tracker.list_comments(ctx.issue.key)
                if c.source_message_id is not None and c.source_message_id != ctx.inbound_id
            ]
            if limits.max_comments_per_issue and len(from_mail) >= limits.max_comments_per_issue:
                return _limited(
                    ctx,
                    self.name,
                    limits.comment_limit_action,
                    f"{ctx.issue.key} already has {len(from_mail)} comments from mail "
                    f"(limit {limits.max_comments_per_issue})",
                    "comment_limit",
                    limit=limits.max_comments_per_issue,
                )
            hour_ago = ctx.now - timedelta(hours=1)
            recent = sum(1 for c in from_mail if c.created_at >= hour_ago)
            if limits.max_comments_per_issue_per_hour and recent >= limits.max_comments_per_issue_per_hour:
                return _limited(
                    ctx,
                    self.name,
                    limits.comment_rate_action,
                    f"{ctx.issue.key} had {recent} comments from mail in the last hour "
                    f"(limit {limits.max_comments_per_issue_per_hour})",
                    "comment_rate",
                    limit=limits.max_comments_per_issue_per_hour,
                )
        body = ctx.comment_body if ctx.issue is not None and ctx.profile.content.comment_reply_text_only else ctx.body
        if limits.max_body_chars and len(body) > limits.max_body_chars:
            if limits.body_too_large_action == "reject":
                ctx.hint = Hint("body_too_large", {"limit": limits.max_body_chars})
                return stop(
                    self.name,
                    Outcome.REJECTED,
                    f"body of {len(body)} characters exceeds the limit of {limits.max_body_chars}",
                )
            ctx.extra_attachments.append(("full-message-body.txt", "text/plain", body.encode("utf-8")))
            cut = body[: limits.max_body_chars].rstrip()
            note = "\n\n[The message was longer; the full text is attached as full-message-body.txt.]"
            if ctx.issue is not None and ctx.profile.content.comment_reply_text_only:
                ctx.comment_body = cut + note
            else:
                ctx.body = cut + note
            return go_on(self.name, f"body truncated to {limits.max_body_chars} characters; full text attached")
        return go_on(self.name, "within the limits")
