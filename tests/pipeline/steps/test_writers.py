"""Who may write to an issue, in memory (issue 14): the stranger's ``Re: SUP-1`` never joins the issue."""

from __future__ import annotations

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.writers import Writers
from tests.pipeline.steps.factory import TRUSTED_MTA, authenticated, context, mapping, memory
from trackers.interface import NewIssue, Permission

STRANGER = "Mallory <mallory@attacker.example>"


def _ctx(sender: str = STRANGER, headers: dict[str, str] | None = None, **mapping_changes: object):
    ctx = context(sender=sender, subject="Re: ABC-1", headers=headers, trusted=(TRUSTED_MTA,))
    ctx.decisions.mapping = mapping(**mapping_changes)
    ctx.decisions.issue = ctx.tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="My invoice",
            email_sender_address="carol@customer.example",
            email_participants=("dan@customer.example",),
        )
    )
    return ctx


def test_the_strangers_reply_to_an_existing_issue_is_held_for_an_agent_by_default() -> None:
    ctx = _ctx()
    verdict = Writers()(ctx)
    assert verdict.outcome == Outcome.FILTERED
    assert "the sender may not write to ABC-1" in verdict.reason and "held for an agent" in verdict.reason
    assert ctx.decisions.hint is None


def test_the_stranger_can_get_a_new_issue_linked_to_the_one_named() -> None:
    ctx = _ctx(stranger_action="new_issue")
    verdict = Writers()(ctx)
    assert not verdict.stops
    assert ctx.decisions.issue is None and ctx.decisions.linked_issue_key == "ABC-1"
    assert ctx.decisions.linked_because == "written by someone not taking part in it"


def test_the_stranger_can_be_rejected_with_a_hint() -> None:
    ctx = _ctx(stranger_action="reject")
    assert Writers()(ctx).outcome == Outcome.REJECTED
    assert ctx.decisions.hint is not None and ctx.decisions.hint.reason == "not_allowed_to_write"


def test_a_comment_only_mapping_holds_instead_of_creating() -> None:
    ctx = _ctx(stranger_action="new_issue", operating_mode="comment_only")
    assert Writers()(ctx).outcome == Outcome.FILTERED


def test_the_reporter_and_participants_may_write() -> None:
    for sender in ("carol@customer.example", "Dan <DAN@customer.example>"):
        assert not Writers()(_ctx(sender=sender)).stops


def test_an_authenticated_account_allowed_to_comment_in_the_project_may_write() -> None:
    ctx = _ctx(sender="alice@example.org", headers=authenticated("example.org"))
    memory(ctx).add_user("alice", "alice@example.org")
    memory(ctx).grant("alice", "ABC", Permission.ADD_COMMENTS)
    verdict = Writers()(ctx)
    assert not verdict.stops and verdict.reason == "the sender's account may comment in ABC"


def test_an_account_without_the_right_to_comment_is_a_stranger() -> None:
    ctx = _ctx(sender="alice@example.org", headers=authenticated("example.org"))
    memory(ctx).add_user("alice", "alice@example.org")
    assert Writers()(ctx).outcome == Outcome.FILTERED


def test_a_forged_from_of_an_account_allowed_to_comment_is_a_stranger() -> None:
    ctx = _ctx(sender="alice@example.org")  # no trusted verdict: the mail may not act as alice
    memory(ctx).add_user("alice", "alice@example.org")
    memory(ctx).grant("alice", "ABC", Permission.ADD_COMMENTS)
    assert Writers()(ctx).outcome == Outcome.FILTERED


def test_a_new_issue_is_not_this_steps_business() -> None:
    ctx = context()
    ctx.decisions.mapping = mapping()
    assert not Writers()(ctx).stops
