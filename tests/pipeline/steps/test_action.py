"""The action step, in memory: it writes the draft."""

from inbound.pipeline.draft import GeneratedFile
from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.action import Action
from profiles.config import WorkflowAdvanceConfig
from tests.pipeline.steps.factory import context, mapping, profile
from tests.pipeline.steps.rules import commenting


def _drafted(ctx):
    ctx.decisions.mapping = ctx.decisions.mapping or mapping()
    ctx.draft.summary, ctx.draft.text = "Printer on fire", "It burns."
    ctx.draft.people.participants = ["alice@example.org"]
    ctx.draft.files = [GeneratedFile("full-message-body.txt", "text/plain", b"all of it")]
    return ctx


def test_a_new_issue_from_the_draft_once_per_message() -> None:
    ctx = _drafted(context())
    verdict = Action()(ctx)
    assert verdict.outcome == Outcome.CREATED and verdict.details["issue"] == "ABC-1"
    issue = ctx.tracker.get_issue("ABC-1")
    assert (issue.summary, issue.description) == ("Printer on fire", "It burns.")
    assert issue.email_sender_address == "alice@example.org" and issue.email_participants == ("alice@example.org",)
    assert [a.filename for a in ctx.tracker.list_attachments("ABC-1")] == ["full-message-body.txt"]
    Action()(ctx)  # a second run (same idempotency key) makes nothing new
    assert ctx.tracker.find_issue("ABC-2") is None and len(ctx.tracker.list_attachments("ABC-1")) == 1


def test_a_comment_with_the_workflow_advance() -> None:
    ctx = _drafted(commenting(profile()))
    ctx.profile = profile(workflow=(WorkflowAdvanceConfig("Open", "In Progress"),))
    verdict = Action()(ctx)
    assert verdict.outcome == Outcome.COMMENTED and "moved from Open to In Progress" in verdict.reason
    assert [c.body for c in ctx.tracker.list_comments("ABC-1")] == ["It burns."]
    assert ctx.tracker.get_issue("ABC-1").status == "In Progress"


def test_a_dry_run_writes_nothing() -> None:
    ctx = _drafted(context(dry_run=True))
    verdict = Action()(ctx)
    assert verdict.details["dry_run"] is True and ctx.tracker.calls == []
