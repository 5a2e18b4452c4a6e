"""The users step, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.users import Users
from tests.pipeline.steps.factory import TRUSTED_MTA, authenticated, context, mapping, memory
from trackers.interface import NewIssue


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
    memory(ctx).add_user("alice", "alice@example.org")
    memory(ctx).add_user("bob", "bob@example.org")
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


def _cc_list(count: int) -> str:
    return ", ".join(f"victim{i}@elsewhere.example" for i in range(count))


def test_a_cc_list_of_500_adds_at_most_the_per_message_cap() -> None:
    """Issue 14: one mail that Cc's 500 strangers made hundreds of notifications; now at most 10 join."""
    ctx = context(cc=_cc_list(500), headers=authenticated("example.org"), trusted=(TRUSTED_MTA,))
    ctx.decisions.mapping = mapping(addressee_handling="participants")
    memory(ctx).add_user("alice", "alice@example.org")
    verdict = Users()(ctx)
    assert ctx.draft.people.participants == [f"victim{i}@elsewhere.example" for i in range(10)]
    assert verdict.details["addressees"].startswith("490 of 500 To/Cc people not added: at most 10 per message")


def test_an_unauthenticated_senders_cc_list_adds_no_one() -> None:
    ctx = context(cc=_cc_list(500))
    ctx.decisions.mapping = mapping(addressee_handling="participants")
    verdict = Users()(ctx)
    assert ctx.draft.people.participants == ["alice@example.org"]  # only the requester of the new issue
    assert verdict.details["addressees"] == "500 To/Cc people not added: the sender is not authenticated"


def test_a_stranger_authenticated_for_their_own_domain_adds_no_one_to_an_existing_issue() -> None:
    ctx = context(
        sender="mallory@attacker.example",
        cc=_cc_list(5),
        headers=authenticated("attacker.example"),
        trusted=(TRUSTED_MTA,),
    )
    ctx.decisions.mapping = mapping(addressee_handling="participants")
    ctx.decisions.issue = ctx.tracker.create_issue(NewIssue(project_key="ABC", summary="x"))
    Users()(ctx)
    assert ctx.draft.people.participants == []


def test_an_issue_at_its_participant_cap_takes_no_more() -> None:
    ctx = _ctx(addressee_handling="participants", participants_per_issue=3)
    ctx.decisions.issue = ctx.tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="Printer",
            email_sender_address="alice@example.org",
            email_participants=("x@example.org", "y@example.org"),
        )
    )
    verdict = Users()(ctx)
    assert ctx.draft.people.participants == ["bob@example.org"]  # room for one more
    assert "1 of 2 To/Cc people not added" in verdict.details["addressees"]
