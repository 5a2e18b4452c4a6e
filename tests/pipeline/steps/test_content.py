"""The content handler, in memory."""

from inbound.pipeline.steps.content import FULL_BODY_FILE, Content
from tests.pipeline.steps.factory import context, mapping, profile
from tests.pipeline.steps.rules import commenting


def test_a_new_issue_takes_the_whole_body_as_markdown() -> None:
    ctx = context(config=profile(content=dict(body_to_markdown=True)))
    ctx.draft.body = "Hello\nworld"
    verdict = Content()(ctx)
    assert ctx.draft.text == "Hello  \nworld" and "whole body" in verdict.reason


def test_a_comment_takes_the_reply_text_or_else_the_body() -> None:
    ctx = commenting(profile(content=dict(comment_reply_text_only=True, body_to_markdown=False)))
    ctx.draft.body, ctx.draft.reply = "reply\n> quoted", ""
    Content()(ctx)
    assert ctx.draft.text == "reply\n> quoted"


def test_the_decided_body_limit_cuts_the_text_and_attaches_the_whole() -> None:
    ctx = context(config=profile(content=dict(body_to_markdown=False)))
    ctx.decisions.mapping = mapping()
    ctx.decisions.body_limit = 5
    ctx.draft.body = "abcdefghij"
    Content()(ctx)
    assert ctx.draft.text.startswith("abcde\n\n[The message was longer")
    assert [(f.filename, f.data) for f in ctx.draft.files] == [(FULL_BODY_FILE, b"abcdefghij")]
