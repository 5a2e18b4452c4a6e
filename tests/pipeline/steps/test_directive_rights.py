"""Directive rights, in memory (issue 14): a directive never does what the sender could not do themself."""

from __future__ import annotations

from inbound.pipeline.steps.directive_rights import DirectiveRights
from tests.pipeline.steps.factory import TRUSTED_MTA, authenticated, context, mapping, memory, profile
from trackers.interface import PROJECT_PERMISSIONS, NewIssue, Permission

ATTACK = {"project": "BIL", "assignee": "alice", "priority": "Highest", "labels": "urgent", "customfield_10100": "1"}


def _ctx(fields: dict[str, str], *, sender: str = "Helpdesk <helpdesk@example.org>", signed: bool = False, **p: object):
    ctx = context(
        sender=sender,
        headers=authenticated("example.org") if signed else None,
        trusted=(TRUSTED_MTA,),
        config=profile(**p) if p else None,
    )
    memory(ctx).add_project("BIL")
    memory(ctx).add_user("helpdesk", "helpdesk@example.org")
    memory(ctx).add_user("alice", "alice@example.org")
    ctx.decisions.mapping = mapping()
    ctx.draft.fields = dict(fields)
    return ctx


def test_a_forged_staff_from_keeps_only_the_harmless_directives() -> None:
    """The forged From: helpdesk@ with @project=BIL @assignee=alice @priority=Highest (issue 14)."""
    ctx = _ctx(ATTACK)
    verdict = DirectiveRights()(ctx)
    assert ctx.draft.fields == {"priority": "Highest", "labels": "urgent"}
    assert set(verdict.details["dropped"]) == {"project", "assignee", "customfield_10100"}
    assert verdict.details["dropped"]["assignee"].startswith("e-mail-only and unauthenticated senders may use only")


def test_the_foreign_key_field_is_never_set_from_mail_even_by_an_account_with_every_right() -> None:
    """@customfield_10100=777 would capture a partner system's later [CASE-777] mail (issue 14)."""
    association = {"foreign_key_field": "customfield_10100", "foreign_key_pattern": r"\[CASE-(\d+)\]"}
    ctx = _ctx({"customfield_10100": "777", "priority": "High"}, signed=True, association=association)
    memory(ctx).grant("helpdesk", "ABC", *PROJECT_PERMISSIONS)
    verdict = DirectiveRights()(ctx)
    assert ctx.draft.fields == {"priority": "High"}
    assert verdict.details["dropped"] == {"customfield_10100": "the foreign-key field is never set from mail"}


def test_an_authenticated_account_keeps_what_its_permissions_allow() -> None:
    ctx = _ctx(ATTACK, signed=True)
    memory(ctx).grant("helpdesk", "BIL", Permission.CREATE_ISSUES)
    verdict = DirectiveRights()(ctx)
    assert ctx.draft.fields == {"project": "BIL", "priority": "Highest", "labels": "urgent", "customfield_10100": "1"}
    assert verdict.details["dropped"] == {"assignee": "the account lacks ASSIGN_ISSUES in BIL"}
    ctx = _ctx(ATTACK, signed=True)
    memory(ctx).grant("helpdesk", "BIL", Permission.CREATE_ISSUES, Permission.ASSIGN_ISSUES)
    DirectiveRights()(ctx)
    assert ctx.draft.fields == ATTACK


def test_an_account_without_rights_in_the_named_project_stays_in_the_mappings() -> None:
    ctx = _ctx({"project": "BIL", "assignee": "alice"}, signed=True)
    memory(ctx).grant("helpdesk", "ABC", Permission.ASSIGN_ISSUES)
    verdict = DirectiveRights()(ctx)
    assert ctx.draft.fields == {"assignee": "alice"}  # checked in ABC, where it may assign
    assert verdict.details["dropped"] == {"project": "the account may not create issues in BIL"}


def test_on_a_comment_the_account_needs_to_edit_the_issue() -> None:
    ctx = _ctx({"labels": "x", "components": "printer", "assignee": "alice"}, signed=True)
    ctx.decisions.issue = ctx.tracker.create_issue(NewIssue(project_key="ABC", summary="Printer"))
    memory(ctx).grant("helpdesk", "ABC", Permission.EDIT_ISSUES)
    verdict = DirectiveRights()(ctx)
    assert ctx.draft.fields == {"labels": "x", "components": "printer"}
    assert verdict.details["dropped"] == {"assignee": "the account lacks ASSIGN_ISSUES in ABC"}


def test_the_profile_can_narrow_what_email_only_senders_may_use() -> None:
    ctx = _ctx(ATTACK, directives={"email_only": ("labels", "assignee")})  # a person never counts as harmless
    DirectiveRights()(ctx)
    assert ctx.draft.fields == {"labels": "urgent"}


CASE = {"foreign_key_field": "customfield_10100", "foreign_key_pattern": r"\[CASE-(\d+)\]"}


def _first_mail(*, signed: bool, sender: str = "Mallory <mallory@example.org>", subject: str = "[CASE-777] Help"):
    ctx = context(
        sender=sender,
        subject=subject,
        headers=authenticated("example.org") if signed else None,
        trusted=(TRUSTED_MTA,),
        config=profile(association=CASE),
    )
    ctx.decisions.mapping = mapping()
    return ctx


def test_an_unauthenticated_strangers_subject_foreign_key_is_not_stored_on_the_new_issue() -> None:
    """A stranger's first mail ``[CASE-777] Help`` stored CASE 777 on its new issue, capturing the partner's later
    [CASE-777] mail (issue 14)."""
    ctx = _first_mail(signed=False)
    verdict = DirectiveRights()(ctx)
    assert ctx.decisions.foreign_key == ""
    assert verdict.details["foreign_key"].startswith("customfield_10100=777 not stored: the sender is not authentic")


def test_a_foreign_key_another_issue_holds_is_not_stored_for_a_sender_who_may_not_write_to_it() -> None:
    """An authenticated stranger naming the partner's existing CASE-777 got a second issue holding that key."""
    ctx = _first_mail(signed=True)
    held = memory(ctx).create_issue(
        NewIssue(project_key="ABC", summary="Server down", custom_fields={"customfield_10100": "777"})
    )
    verdict = DirectiveRights()(ctx)
    assert ctx.decisions.foreign_key == ""
    assert verdict.details["foreign_key"] == (
        f"customfield_10100=777 not stored: it is {held.key}'s, and the sender may not write to {held.key}"
    )


def test_an_authenticated_senders_new_foreign_key_is_stored() -> None:
    ctx = _first_mail(signed=True, sender="cases@example.org")
    verdict = DirectiveRights()(ctx)
    assert ctx.decisions.foreign_key == "777"
    assert verdict.details["foreign_key"] == "customfield_10100=777 stored on the new issue"
    ctx = _first_mail(signed=True, sender="cases@example.org", subject="No key here")
    assert "foreign_key" not in DirectiveRights()(ctx).details and ctx.decisions.foreign_key == ""


def test_a_foreign_key_held_by_an_issue_the_sender_takes_part_in_is_stored() -> None:
    ctx = _first_mail(signed=True, sender="cases@example.org")
    memory(ctx).create_issue(
        NewIssue(
            project_key="ABC",
            summary="Server down",
            custom_fields={"customfield_10100": "777"},
            email_sender_address="cases@example.org",
        )
    )
    DirectiveRights()(ctx)
    assert ctx.decisions.foreign_key == "777"
