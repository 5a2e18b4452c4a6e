"""Directives (a handler): field values written into the mail become the draft's fields, and leave its text."""

from __future__ import annotations

import re

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from profiles.directives import extract_directives


class Directives:
    name = "directives"
    description = "Reads directives (@key=value, #key=value, key: value, X-JEMH-* headers, regex processors)."

    def __call__(self, ctx: Context) -> Verdict:
        draft = ctx.draft
        result = extract_directives(ctx.profile, draft.summary, draft.body, ctx.message.headers)
        if not result.values:
            return go_on(self.name, "no directives", reasons=list(result.reasons))
        draft.fields = dict(result.values)
        draft.summary = result.cleaned_subject.strip()
        draft.body = result.cleaned_body.strip()
        if result.processor in {"at_prefix", "colon"}:
            # directive lines sit at the top of the body: they are not part of the comment either
            draft.reply = strip_leading_directive_lines(draft.reply, draft.fields) or draft.reply
        return go_on(
            self.name,
            f"{len(result.values)} directive(s) found by the {result.processor} processor",
            directives=sorted(result.values),
            reasons=list(result.reasons),
            counts=result.counts,
        )


_DIRECTIVE_LINE = re.compile(r"^\s*(@[\w.\-]+(\s*=.*)?|[A-Za-z][\w.\-]*\s*:\s*\S.*)$")


def strip_leading_directive_lines(text: str, directives: dict[str, str]) -> str:
    """The text without the directive lines (and blank lines) at its top."""
    lines = text.splitlines()
    names = {name.lower() for name in directives}
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        name = re.split(r"[=:\s]", line.lstrip("@"), maxsplit=1)[0].lower()
        if _DIRECTIVE_LINE.match(line) and (line.startswith("@") or name in names):
            index += 1
            continue
        break
    return "\n".join(lines[index:]).strip()
