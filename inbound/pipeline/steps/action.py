"""The action: write the draft to the tracker as a new issue or a comment (with attachments, directive values,
participants and the workflow advance). Every tracker call carries the message's idempotency key, so running a
message twice, or again after a crash at any point, never makes a second issue or comment."""

from __future__ import annotations

from typing import Any

from inbound.pipeline.context import Context
from inbound.pipeline.identity import identify
from inbound.pipeline.outcome import Outcome, Verdict, stop
from inbound.pipeline.steps.limited import limited
from trackers.errors import InvalidTransition, IssueNotFound, TrackerError
from trackers.interface import Actor, IssueUpdate, NewComment, NewIssue, TrackerProject

SUMMARY_MAX = 255
# Directives that change who does what: an email-only sender may not set them (never beyond the sender's rights).
PEOPLE_DIRECTIVES = frozenset({"assignee", "reporter", "watchers", "participants", "project"})


def allowed_directives(ctx: Context) -> dict[str, str]:
    """The draft's directive values the sender may set (``issueKey`` was association's)."""
    values = dict(ctx.draft.fields)
    values.pop("issueKey", None)
    if ctx.profile.directives.within_sender_rights and ctx.draft.people.sender_account is None:
        for name in PEOPLE_DIRECTIVES & values.keys():
            values.pop(name)
    return values


def _pick(value: str | None, allowed: tuple[str, ...], fallback: str) -> str:
    if value:
        for option in allowed:
            if option.lower() == value.strip().lower():
                return option
    return fallback


def _labels(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip().replace(" ", "_") for part in (value or "").split(",") if part.strip()))


def _automated(ctx: Context) -> bool:
    c = ctx.message.classification
    return bool(c.auto_reply or c.bounce or c.bulk or c.list or c.loop or c.spam)


def _actor(ctx: Context) -> Actor:
    automated = _automated(ctx)
    # an acknowledgement goes where a hint may go (the authenticated From or envelope sender), never to automated mail
    acknowledge_to = "" if automated else identify(ctx).hint_address
    account = ctx.draft.people.sender_account
    if account is not None:
        return Actor(account_id=account.account_id, automated=automated, acknowledge_to=acknowledge_to)
    return Actor(
        email=ctx.mail.sender_email,
        name=ctx.mail.sender_name or None,
        automated=automated,
        acknowledge_to=acknowledge_to,
    )


def _message_ids(ctx: Context) -> tuple[str, ...]:
    return (f"<{ctx.message.message_id}>",) if ctx.message.message_id else ()


class Action:
    name = "action"
    description = "Creates the issue or adds the comment in the tracker (a dry run only says what it would do)."

    def __call__(self, ctx: Context) -> Verdict:
        if ctx.decisions.issue is not None:
            return self._comment(ctx)
        return self._create(ctx)

    # -- a new issue -------------------------------------------------------------------------------------------
    def _create(self, ctx: Context) -> Verdict:
        mapping, draft, people = ctx.mapping, ctx.draft, ctx.draft.people
        directives = allowed_directives(ctx) if ctx.profile.directives.on_create else {}
        project_key = directives.get("project", "").upper() or mapping.project_key
        try:
            project = ctx.tracker.get_project(project_key)
        except TrackerError:
            if project_key == mapping.project_key:
                raise
            project = ctx.tracker.get_project(mapping.project_key)  # a bad project directive: the mapping's
        summary = directives.get("summary") or draft.summary or mapping.default_summary or "(no subject)"
        description = draft.full_text
        if ctx.decisions.linked_issue_key:
            note = f"Follow-up of {ctx.decisions.linked_issue_key} ({ctx.decisions.linked_because})."
            description = f"{note}\n\n{description}"
        sender_known = people.sender_account is not None
        new = NewIssue(
            project_key=project.key,
            summary=summary[:SUMMARY_MAX],
            description=description,
            issue_type=_pick(
                directives.get("issueType"), project.issue_types, mapping.issue_type or project.default_issue_type
            ),
            priority=_pick(
                directives.get("priority"), project.priorities, mapping.priority or project.default_priority
            ),
            reporter=self._reporter(ctx),
            assignee=self._assignee(ctx, project, directives),
            labels=_labels(directives.get("labels")),
            watchers=tuple(dict.fromkeys(people.watchers)),
            email_sender_address="" if sender_known else ctx.mail.sender_email,
            email_sender_name="" if sender_known else ctx.mail.sender_name,
            email_participants=tuple(dict.fromkeys(people.participants)),
            custom_fields=self._custom_fields(ctx, directives),
            source_message_id=ctx.mail.inbound_id,
            message_ids=_message_ids(ctx),
        )
        if ctx.dry_run:
            return stop(
                self.name,
                Outcome.CREATED,
                f"would create an issue in {project.key} (dry run)",
                dry_run=True,
                summary=new.summary,
                issue_type=new.issue_type,
                priority=new.priority,
                labels=list(new.labels),
                attachments=[a.filename for a in draft.attachments],
            )
        issue = ctx.tracker.create_issue(new, idempotency_key=ctx.mail.idempotency_key, actor=_actor(ctx))
        attached = self._attach(ctx, issue.key, None)
        return stop(self.name, Outcome.CREATED, f"created {issue.key}", issue=issue.key, attachments=attached)

    def _reporter(self, ctx: Context) -> str | None:
        account = ctx.draft.people.sender_account
        if ctx.mapping.reporter_strategy == "sender" and account is not None:
            return account.account_id
        return ctx.mapping.default_reporter or None

    def _assignee(self, ctx: Context, project: TrackerProject, directives: dict[str, str]) -> str | None:
        wanted = directives.get("assignee")
        if wanted:
            user = ctx.tracker.get_user(wanted) or ctx.tracker.find_user_by_email(wanted)
            if user is not None:
                return user.account_id
        strategy = ctx.mapping.assignee_strategy
        if strategy == "project_lead" and project.lead is not None:
            return project.lead.account_id
        if strategy == "fixed_user" and ctx.mapping.assignee:
            return ctx.mapping.assignee
        return None

    @staticmethod
    def _custom_fields(ctx: Context, directives: dict[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {name: value for name, value in directives.items() if name.startswith("customfield_")}
        if ctx.decisions.foreign_key:  # decided by directive rights (a stranger's is never stored)
            fields[ctx.profile.association.foreign_key_field] = ctx.decisions.foreign_key
        return fields

    # -- a comment ---------------------------------------------------------------------------------------------
    def _comment(self, ctx: Context) -> Verdict:
        issue = ctx.decisions.issue
        assert issue is not None
        draft, people = ctx.draft, ctx.draft.people
        body = draft.full_text or ("(attachments only)" if draft.attachments else "(empty message)")
        directives = allowed_directives(ctx) if ctx.profile.directives.on_comment else {}
        target = ctx.profile.workflow_target(issue.status)
        if ctx.dry_run:
            return stop(
                self.name,
                Outcome.COMMENTED,
                f"would comment on {issue.key} (dry run)",
                dry_run=True,
                issue=issue.key,
                attachments=[a.filename for a in draft.attachments],
                transition=target or "",
            )
        account = people.sender_account
        try:
            comment = ctx.tracker.add_comment(
                issue.key,
                NewComment(
                    body=body,
                    author=account.account_id if account else None,
                    author_email="" if account else ctx.mail.sender_email,
                    author_name="" if account else ctx.mail.sender_name,
                    source_message_id=ctx.mail.inbound_id,
                    message_ids=_message_ids(ctx),
                ),
                idempotency_key=ctx.mail.idempotency_key,
            )
        except IssueNotFound:  # gone since association found it (deleted in the tracker): as if never found
            return self._issue_gone(ctx, issue.key)
        actor = _actor(ctx)
        attached = self._attach(ctx, issue.key, comment.id)
        known = {q.lower() for q in issue.email_participants}
        missing = [p for p in people.participants if p.lower() not in known]
        if missing:
            ctx.tracker.add_participants(issue.key, missing, actor=actor)
        watching = {user.account_id for user in issue.watchers}
        priorities = ctx.tracker.get_project(issue.project_key).priorities if directives.get("priority") else ()
        update = IssueUpdate(
            priority=_pick(directives.get("priority"), priorities, "") or None,
            add_labels=_labels(directives.get("labels")),
            add_watchers=tuple(w for w in dict.fromkeys(people.watchers) if w not in watching),
        )
        if update.priority or update.add_labels or update.add_watchers:
            ctx.tracker.update_issue(issue.key, update, actor=actor)
        moved = ""
        if target and target.lower() != issue.status.lower():
            try:
                ctx.tracker.transition_issue(issue.key, target, actor=actor)
                moved = f"; moved from {issue.status} to {target}"
            except InvalidTransition as exc:
                moved = f"; could not move from {issue.status} to {target}: {exc}"
        return stop(
            self.name,
            Outcome.COMMENTED,
            f"commented on {issue.key}{moved}",
            issue=issue.key,
            comment=comment.id,
            attachments=attached,
        )

    def _issue_gone(self, ctx: Context, key: str) -> Verdict:
        """The issue to comment on does not exist (any more): a new issue when the mapping creates issues, else the
        comment-only mapping's action for mail without an issue."""
        ctx.decisions.issue, ctx.decisions.missing_issue_key = None, key
        gone = f"{key} no longer exists in the tracker (deleted, or moved?)"
        if ctx.mapping.operating_mode == "comment_only":
            action = ctx.profile.rejection.comment_only_no_match_action
            reason = f"comment-only mapping and {gone}"
            return limited(ctx, self.name, action, reason, "comment_only_no_match")
        created = self._create(ctx)
        return stop(
            self.name,
            created.outcome or Outcome.CREATED,
            f"{created.reason} instead of commenting: {gone}",
            **created.details,
            missing_issue=key,
        )

    @staticmethod
    def _attach(ctx: Context, issue_key: str, comment_id: str | None) -> list[str]:
        uploads = ctx.draft.uploads()
        if not uploads:
            return []
        attached = ctx.tracker.add_attachments(
            issue_key, uploads, comment_id=comment_id, idempotency_key=ctx.mail.idempotency_key, actor=_actor(ctx)
        )
        return [a.filename for a in attached]
