"""Our Markdown, parsed once (CommonMark, by markdown-it-py) for the two renderers: ADF (Cloud) and wiki (DC)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

_parser = MarkdownIt("commonmark")


def tokens(markdown: str) -> list[Token]:
    return _parser.parse(markdown)
