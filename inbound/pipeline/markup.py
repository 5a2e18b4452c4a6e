"""Text helpers of the pipeline: plain mail text as Markdown, and cutting a body at a mapping's delimiter."""

from __future__ import annotations

MARKDOWN_SPECIAL_AT_LINE_START = ("#", ">", "    ", "\t", "---", "===", "***", "|")


def as_markdown(text: str) -> str:
    """Plain mail text as Markdown that renders as the sender wrote it: line breaks kept, and lines that
    would accidentally become headings, quotes, rules, tables or code are escaped."""
    lines = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped.startswith(MARKDOWN_SPECIAL_AT_LINE_START):
            stripped = "\\" + stripped.lstrip() if not stripped.startswith(("    ", "\t")) else stripped.strip()
        lines.append(stripped + ("  " if stripped else ""))
    return "\n".join(lines).strip()


def cut_at_delimiter(body: str, delimiters: tuple[str, ...]) -> tuple[str, str]:
    """The body up to the first line holding a delimiter (literal text), and the delimiter found."""
    best, found = len(body), ""
    for delimiter in delimiters:
        if not delimiter:
            continue
        index = body.find(delimiter)
        if 0 <= index < best:
            best, found = index, delimiter
    if not found:
        return body, ""
    line_start = body.rfind("\n", 0, best) + 1
    return body[:line_start].rstrip(), found
