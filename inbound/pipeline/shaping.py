"""Step groups 2-4: routing (which project mapping), pre-processing (subject and body clean-ups) and
directives (field values written into the mail)."""

from __future__ import annotations

import re

from inbound.pipeline.context import Context
from inbound.pipeline.markup import cut_at_delimiter
from inbound.pipeline.outcome import Verdict, go_on
from profiles.directives import extract_directives
from profiles.patterns import compiled
from profiles.routing import select_mapping


class Routing:
    name = "routing"
    description = "Selects the project mapping by its rules; unset values come from the default mapping."

    def __call__(self, ctx: Context) -> Verdict:
        mapping, reason = select_mapping(ctx.profile, ctx.facts)
        ctx.mapping = mapping
        return go_on(
            self.name, reason, mapping=mapping.name, project=mapping.project_key, inherited=sorted(mapping.inherited)
        )


def _apply_cleanups(text: str, patterns: tuple[str, ...], flags: int) -> tuple[str, list[str]]:
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
        assert ctx.mapping is not None
        subject, subject_hits = _apply_cleanups(ctx.message.subject, ctx.mapping.subject_cleanups, re.IGNORECASE)
        body, body_hits = _apply_cleanups(
            ctx.message.body_text, ctx.mapping.body_cleanups, re.IGNORECASE | re.MULTILINE
        )
        body, delimiter = cut_at_delimiter(body, ctx.mapping.body_delimiters)
        reply, _ = cut_at_delimiter(ctx.message.reply_text, ctx.mapping.body_delimiters)
        reply, _ = _apply_cleanups(reply, ctx.mapping.body_cleanups, re.IGNORECASE | re.MULTILINE)
        # NUL characters (seen in real spam) are not text: PostgreSQL refuses them in text columns
        ctx.subject = " ".join(subject.replace("\x00", "").split())
        ctx.body = body.replace("\x00", "").strip()
        ctx.comment_body = reply.replace("\x00", "").strip()
        notes = []
        if subject_hits:
            notes.append(f"subject clean-ups applied: {len(subject_hits)}")
        if body_hits:
            notes.append(f"body clean-ups applied: {len(body_hits)}")
        if delimiter:
            notes.append("body cut at a delimiter")
        return go_on(self.name, "; ".join(notes) or "nothing to clean up")


class Directives:
    name = "directives"
    description = "Reads directives (@key=value, #key=value, key: value, X-JEMH-* headers, regex processors)."

    def __call__(self, ctx: Context) -> Verdict:
        result = extract_directives(ctx.profile, ctx.subject, ctx.body, ctx.message.headers)
        if not result.values:
            return go_on(self.name, "no directives", reasons=list(result.reasons))
        ctx.directives = dict(result.values)
        ctx.subject = result.cleaned_subject.strip()
        ctx.body = result.cleaned_body.strip()
        if result.processor in {"at_prefix", "colon"}:
            # directive lines sit at the top of the body: they are not part of the comment either
            ctx.comment_body = _strip_leading_lines(ctx.comment_body, ctx.directives) or ctx.comment_body
        return go_on(
            self.name,
            f"{len(result.values)} directive(s) found by the {result.processor} processor",
            directives=sorted(result.values),
            reasons=list(result.reasons),
            counts=result.counts,
        )


_DIRECTIVE_LINE = re.compile(r"^\s*(@[\w.\-]+(\s*=.*)?|[A-Za-z][\w.\-]*\s*:\s*\S.*)$")


def _strip_leading_lines(text: str, directives: dict[str, str]) -> str:
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
