"""Association, in memory."""

from inbound.pipeline.steps.association import Association
from tests.pipeline.steps.factory import context, mapping, raw_mail
from trackers.interface import NewIssue


def _issue(ctx, **fields):
    return ctx.tracker.create_issue(NewIssue(project_key="ABC", summary="Printer", **fields))


def test_an_issue_key_in_the_subject() -> None:
    ctx = context(subject="Re: ABC-1 printer")
    issue = _issue(ctx)
    verdict = Association()(ctx)
    assert ctx.decisions.issue == issue and ctx.decisions.association == "issue key ABC-1 in the subject"
    assert verdict.details == {"issue": "ABC-1", "strategy": "subject_key"}


def test_in_reply_to_a_stored_message_id() -> None:
    ctx = context(raw_mail(subject="Re: printer", headers={"In-Reply-To": "<first@example.org>"}))
    _issue(ctx, message_ids=("<first@example.org>",))
    verdict = Association()(ctx)
    assert verdict.details["strategy"] == "thread_headers" and ctx.decisions.issue is not None


def test_the_issue_key_directive() -> None:
    ctx = context()
    _issue(ctx)
    ctx.draft.fields = {"issueKey": "abc-1"}
    ctx.decisions.mapping = mapping()
    assert Association()(ctx).details["strategy"] == "directive"


def test_nothing_found_is_a_new_issue() -> None:
    ctx = context()
    verdict = Association()(ctx)
    assert ctx.decisions.issue is None and verdict.reason == "no existing issue found: a new issue"
