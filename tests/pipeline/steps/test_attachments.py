"""The attachments handler, in memory: it picks files and never edits the text."""

import hashlib

from inbound.pipeline.steps.attachments import Attachments
from tests.pipeline.steps.factory import context, profile, raw_mail
from tests.pipeline.steps.rules import commenting
from trackers.interface import AttachmentUpload

PDF = ("report.pdf", "application/pdf", b"%PDF-1.4 report")


def test_files_are_kept_and_duplicates_dropped() -> None:
    ctx = context(raw_mail(attachments=[PDF, ("copy.pdf", "application/pdf", PDF[2])]))
    ctx.draft.text = "the text"
    verdict = Attachments()(ctx)
    assert [a.filename for a in ctx.draft.attachments] == ["report.pdf"]
    assert verdict.details["dropped"] == [{"filename": "copy.pdf", "reason": "duplicate within this message"}]
    assert ctx.draft.text == "the text"


def test_a_file_the_issue_already_has_is_dropped() -> None:
    ctx = commenting()
    ctx.tracker.add_attachments("ABC-1", [AttachmentUpload("old.pdf", data=PDF[2])])
    reply = context(raw_mail(attachments=[PDF]))
    reply.tracker, reply.decisions.issue = ctx.tracker, ctx.decisions.issue
    Attachments()(reply)
    assert reply.draft.attachments == [] and reply.draft.skipped[0].reason.startswith("duplicate of an attachment")


def test_known_fingerprints_are_excluded() -> None:
    digest = hashlib.sha256(PDF[2]).hexdigest()
    config = profile(attachments=dict(known_fingerprints=frozenset({digest})))
    ctx = context(raw_mail(attachments=[PDF]), config=config)
    Attachments()(ctx)
    assert ctx.draft.skipped[0].reason == "known fingerprint"


def test_inline_images_are_referenced_by_the_draft_text() -> None:
    ctx = context()
    ctx.draft.text = "look"
    ctx.draft.inline_images = ["shot.png"]
    assert ctx.draft.full_text == "look\n\n![shot.png](attachment:shot.png)"
    assert ctx.draft.text == "look"
