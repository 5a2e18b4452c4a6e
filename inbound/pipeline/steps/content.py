"""Content (a handler): the draft's text for the issue or comment (reply text only on comments), as Markdown;
a body over the loop limits' size is cut here, its full text attached."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.draft import GeneratedFile
from inbound.pipeline.markup import as_markdown
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.steps.loop_limits import uses_reply_text

FULL_BODY_FILE = "full-message-body.txt"
CUT_NOTE = f"\n\n[The message was longer; the full text is attached as {FULL_BODY_FILE}.]"


class Content:
    name = "content"
    description = "Chooses the text for the issue or comment (reply text only on comments) as Markdown."

    def __call__(self, ctx: Context) -> Verdict:
        draft = ctx.draft
        use_reply = uses_reply_text(ctx)
        limit = ctx.decisions.body_limit
        source = draft.reply if use_reply else draft.body
        if limit is not None and len(source) > limit:
            draft.files.append(GeneratedFile(FULL_BODY_FILE, "text/plain", source.encode("utf-8")))
            cut = source[:limit].rstrip() + CUT_NOTE
            if use_reply:
                draft.reply = cut
            else:
                draft.body = cut
        text = draft.reply if use_reply else draft.body
        if not text.strip() and use_reply:
            text = draft.body  # nothing new above the quote: keep what there is rather than nothing
        convert = ctx.profile.content.body_to_markdown
        draft.text = as_markdown(text) if convert else text.strip()
        what = "reply text" if use_reply else "whole body"
        return go_on(self.name, f"{what}, {len(draft.text)} characters{' as Markdown' if convert else ''}")
