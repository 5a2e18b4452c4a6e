"""Rule: when on, only the issue's reporter, assignee, watchers and participants may comment."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop


class ParticipantsOnly:
    name = "participants_only"
    description = "When on, only the issue's reporter, assignee, watchers and participants may comment."

    def __call__(self, ctx: Context) -> Verdict:
        issue = ctx.decisions.issue
        if issue is None or not ctx.profile.rejection.participants_only:
            return go_on(self.name, "not applicable")
        sender = ctx.mail.sender_email
        people = {p.lower() for p in issue.email_participants}
        people.add(issue.email_sender_address.lower())
        for user in (issue.reporter, issue.assignee, *issue.watchers):
            if user is not None:
                people.add(user.email.lower())
        if sender and sender in people:
            return go_on(self.name, "the sender takes part in the issue")
        ctx.decisions.hint = Hint("not_participant", {"issue_key": issue.key})
        return stop(self.name, Outcome.REJECTED, f"the sender is not a participant of {issue.key}")
