"""The users step, in memory."""

from inbound.pipeline.outcome import Outcome
from trackers.interface import NewIssue
from inbound.pipeline.steps.users import Users
from tests.pipeline.steps.factory import TRUSTED_MTA, authenticated, context, mapping


def _ctx(**mapping_changes: object):
    """Mail from alice@example.org, authenticated by our MTA (only such a sender brings To/Cc people along)."""
    ctx = context(
        cc="Bob <bob@example.org>, support@example.com, carol@example.org",
        headers=authenticated("example.org"),
        trusted=(TRUSTED_MTA,),
    )
    ctx.decisions.mapping = mapping(**mapping_changes)
    return ctx


def test_a_known_sender_and_to_cc_people_as_watchers() -> None:
    ctx = _ctx(addressee_handling="watchers")
    ctx.tracker.add_user("alice", "alice@example.org")
    ctx.tracker.add_user("bob", "bob@example.org")
    verdict = Users()(ctx)
    people = ctx.draft.people
    assert people.sender_account is not None and people.sender_account.account_id == "alice"
    assert people.watchers == ["bob"] and people.participants == ["carol@example.org"]  # our own address left out
    assert verdict.reason == "the sender has an account (alice)"


def test_an_unknown_sender_becomes_an_email_only_participant() -> None:
    # (issue 14: an e-mail-only sender joins only when the mapping says so, and brings To/Cc people along only to
    # an issue they already take part in)
    ctx = _ctx(addressee_handling="participants", sender_becomes_participant=True)
    ctx.decisions.issue = ctx.tracker.create_issue(
        NewIssue(project_key="ABC", summary="Printer", email_sender_address="alice@example.org")
    )
    Users()(ctx)
    assert ctx.draft.people.participants == ["alice@example.org", "bob@example.org", "carol@example.org"]


def test_an_unknown_sender_can_be_rejected() -> None:
    ctx = _ctx(unknown_sender_action="reject")
    assert Users()(ctx).outcome == Outcome.REJECTED and ctx.decisions.hint is not None


def test_no_usable_from_address_is_left_for_a_human() -> None:
    ctx = context(sender="XX")
    ctx.decisions.mapping = mapping()
    assert Users()(ctx).outcome == Outcome.FILTERED
