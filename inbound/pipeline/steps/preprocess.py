"""Pre-processing (a handler): the draft's summary, body and reply text, after the mapping's clean-up patterns
and body delimiters."""

from __future__ import annotations

import re

from inbound.pipeline.context import Context
from inbound.pipeline.markup import cut_at_delimiter
from inbound.pipeline.outcome import Verdict, go_on
from profiles.patterns import compiled


def apply_cleanups(text: str, patterns: tuple[str, ...], flags: int) -> tuple[str, list[str]]:
    """The text with every match of the (valid) patterns removed, and the patterns that matched."""
    applied = []
    for pattern in patterns:
        try:
            regex = compiled(pattern, flags)
        except re.error:
            continue
        text, count = regex.subn("", text)
        if count:
            applied.append(pattern)
    return text, applied


class Preprocess:
    name = "preprocess"
    description = "Applies the mapping's subject and body clean-up patterns and body delimiters."

    def __call__(self, ctx: Context) -> Verdict:
        mapping, message, draft = ctx.mapping, ctx.message, ctx.draft
        subject, subject_hits = apply_cleanups(message.subject, mapping.subject_cleanups, re.IGNORECASE)
        body, body_hits = apply_cleanups(message.body_text, mapping.body_cleanups, re.IGNORECASE | re.MULTILINE)
        body, delimiter = cut_at_delimiter(body, mapping.body_delimiters)
        reply, _ = cut_at_delimiter(message.reply_text, mapping.body_delimiters)
        reply, _ = apply_cleanups(reply, mapping.body_cleanups, re.IGNORECASE | re.MULTILINE)
        # NUL characters (seen in real spam) are not text: PostgreSQL refuses them in text columns
        draft.summary = " ".join(subject.replace("\x00", "").split())
        draft.body = body.replace("\x00", "").strip()
        draft.reply = reply.replace("\x00", "").strip()
        notes = []
        if subject_hits:
            notes.append(f"subject clean-ups applied: {len(subject_hits)}")
        if body_hits:
            notes.append(f"body clean-ups applied: {len(body_hits)}")
        if delimiter:
            notes.append("body cut at a delimiter")
        return go_on(self.name, "; ".join(notes) or "nothing to clean up")
