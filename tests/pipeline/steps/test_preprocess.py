"""Pre-processing, in memory: it fills the draft and leaves the message as it arrived."""

from inbound.pipeline.steps.preprocess import Preprocess
from tests.pipeline.steps.factory import context, mapping


def _ctx(**changes: object):
    ctx = context(subject="RE:  [EXT] Printer\x00 down", body="Hi\nthe printer\n-- \nAlice\n")
    ctx.decisions.mapping = mapping(**changes)
    return ctx


def test_cleanups_fill_the_draft_not_the_message() -> None:
    ctx = _ctx(subject_cleanups=(r"\[EXT\]",), body_delimiters=("-- ",))
    verdict = Preprocess()(ctx)
    assert ctx.draft.summary == "RE: Printer down"
    assert ctx.draft.body == "Hi\nthe printer"
    assert ctx.message.subject.startswith("RE:  [EXT]")  # unchanged
    assert "subject clean-ups applied: 1" in verdict.reason and "body cut at a delimiter" in verdict.reason


def test_nothing_to_clean() -> None:
    ctx = _ctx()
    assert Preprocess()(ctx).reason == "nothing to clean up"
    assert ctx.draft.reply.startswith("Hi")
