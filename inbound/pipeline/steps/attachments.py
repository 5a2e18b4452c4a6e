"""Attachments (a handler): which of the mail's files go into the draft, and which inline images its text
references."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.draft import SkippedAttachment
from inbound.pipeline.outcome import Verdict, go_on


class Attachments:
    name = "attachments"
    description = "Drops duplicates (by SHA-256) and excluded files (type, size, name, known fingerprints)."

    def __call__(self, ctx: Context) -> Verdict:
        settings = ctx.profile.attachments
        issue = ctx.decisions.issue
        wants_existing = issue is not None and settings.drop_duplicates and bool(ctx.message.attachments)
        existing = ctx.tracker.attachment_hashes(issue.key) if wants_existing and issue else frozenset()
        seen: set[str] = set()
        kept, skipped = [], []
        for attachment in ctx.message.attachments:
            reason = None
            if attachment.inline and not settings.keep_inline_images:
                reason = "inline image (not kept by the profile)"
            else:
                reason = settings.exclusion_reason(
                    attachment.filename, attachment.content_type, attachment.size, attachment.sha256
                )
            if reason is None and settings.drop_duplicates:
                if attachment.sha256 in existing:
                    reason = "duplicate of an attachment the issue already has"
                elif attachment.sha256 in seen:
                    reason = "duplicate within this message"
            if reason:
                skipped.append(SkippedAttachment(attachment.filename, reason))
                continue
            seen.add(attachment.sha256)
            kept.append(attachment)
        draft = ctx.draft
        draft.attachments, draft.skipped = kept, skipped
        draft.inline_images = [a.filename for a in kept if a.inline and a.content_type.startswith("image/")]
        return go_on(self.name, f"{len(kept)} kept, {len(skipped)} dropped", dropped=[s.as_dict() for s in skipped])
