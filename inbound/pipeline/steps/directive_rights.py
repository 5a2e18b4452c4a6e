"""Directive rights (a handler): the directives the sender may use. The foreign-key field is never set from mail;
e-mail-only and unauthenticated senders keep only the profile's harmless directives (by default priority and
labels: nothing naming a person, project, security level or custom field); an authenticated account holder keeps,
besides those, what their account may do in the project (the tracker's permissions).

It also decides the foreign key a new issue stores (the profile's regex on the subject or body): only an
authenticated sender's, and never one that another issue already holds unless the sender may write to that issue, so
a stranger cannot capture a partner system's later mail by writing its key first."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.identity import identify
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.steps.writers import may_write
from profiles.directives import is_sensitive_directive
from trackers.errors import ProjectNotFound
from trackers.interface import Permission

ASSOCIATION_DIRECTIVES = frozenset({"issuekey"})  # read by association, never written to a field
# The permission a directive needs beyond creating (CREATE_ISSUES) or editing (EDIT_ISSUES) the issue.
PERMISSION_OF: dict[str, str] = {
    "assignee": Permission.ASSIGN_ISSUES,
    "reporter": Permission.MODIFY_REPORTER,
    "watchers": Permission.MANAGE_WATCHERS,
    "security": Permission.SET_ISSUE_SECURITY,
}


def needed_permission(name: str, creating: bool) -> str:
    """The project permission an account needs to use the directive ``name`` on a new issue or a comment."""
    return PERMISSION_OF.get(name.lower(), Permission.CREATE_ISSUES if creating else Permission.EDIT_ISSUES)


class DirectiveRights:
    name = "directive_rights"
    description = "Keeps only the directives the sender may use: harmless ones, or what their account may do."

    def __call__(self, ctx: Context) -> Verdict:
        ctx.decisions.foreign_key, foreign_key_note = self._foreign_key(ctx)
        noted = {"foreign_key": foreign_key_note} if foreign_key_note else {}
        fields = dict(ctx.draft.fields)
        if not fields:
            return go_on(self.name, "no directives", **noted)
        dropped: dict[str, str] = {}
        foreign_key = ctx.profile.association.foreign_key_field.strip().lower()
        for name in list(fields):
            if foreign_key and name.lower() == foreign_key:
                dropped[name] = "the foreign-key field is never set from mail"
                del fields[name]
        if ctx.profile.directives.within_sender_rights:
            fields = self._within_rights(ctx, fields, dropped)
        ctx.draft.fields = fields
        if not dropped:
            return go_on(self.name, f"the sender may use all {len(fields)} directive(s)", kept=sorted(fields), **noted)
        return go_on(
            self.name,
            f"{len(dropped)} directive(s) dropped: beyond the sender's rights",
            kept=sorted(fields),
            dropped=dict(sorted(dropped.items())),
            **noted,
        )

    @staticmethod
    def _foreign_key(ctx: Context) -> tuple[str, str]:
        """The foreign key a new issue stores ("" for none), and what the report says about it."""
        association = ctx.profile.association
        field = association.foreign_key_field
        if ctx.decisions.issue is not None or not (field and association.foreign_key_pattern):
            return "", ""
        value = association.foreign_key(ctx.message.subject) or association.foreign_key(ctx.draft.body)
        if not value:
            return "", ""
        sender = identify(ctx)
        if not sender.authenticated:
            return "", f"{field}={value} not stored: the sender is not authenticated ({sender.reason})"
        project = ctx.decisions.mapping.project_key if ctx.decisions.mapping else None
        holder = ctx.tracker.find_issue_by_foreign_key(field, value, project)
        if holder is not None and not may_write(ctx, holder, sender):
            return "", f"{field}={value} not stored: it is {holder.key}'s, and the sender may not write to {holder.key}"
        return value, f"{field}={value} stored on the new issue"

    @staticmethod
    def _within_rights(ctx: Context, fields: dict[str, str], dropped: dict[str, str]) -> dict[str, str]:
        harmless = {name.lower() for name in ctx.profile.directives.email_only if not is_sensitive_directive(name)}
        kept = {n: v for n, v in fields.items() if n.lower() in harmless or n.lower() in ASSOCIATION_DIRECTIVES}
        rest = {n: v for n, v in fields.items() if n not in kept}
        if not rest:
            return kept
        sender = identify(ctx)
        account = sender.trusted_account
        if account is None:
            why = "e-mail-only and unauthenticated senders may use only " + (", ".join(sorted(harmless)) or "none")
            dropped.update(dict.fromkeys(rest, why))
            return kept
        issue, tracker = ctx.decisions.issue, ctx.tracker
        creating = issue is None
        target = ctx.mapping.project_key if issue is None else issue.project_key
        for name in [n for n in rest if n.lower() == "project"]:
            wanted = rest.pop(name).strip().upper()
            if not creating:
                dropped[name] = "a comment does not move its issue to another project"
                continue
            try:
                held = tracker.project_permissions(account.account_id, wanted, (Permission.CREATE_ISSUES,))
            except ProjectNotFound:
                held = frozenset()
            if Permission.CREATE_ISSUES in held:
                kept[name], target = wanted, wanted
            else:
                dropped[name] = f"the account may not create issues in {wanted}"
        needed = {name: needed_permission(name, creating) for name in rest}
        held = tracker.project_permissions(account.account_id, target, set(needed.values())) if needed else frozenset()
        for name, value in rest.items():
            if needed[name] in held:
                kept[name] = value
            else:
                dropped[name] = f"the account lacks {needed[name]} in {target}"
        return kept
