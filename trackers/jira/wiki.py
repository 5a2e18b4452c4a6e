"""Markdown → Jira wiki markup (Data Center's REST v2 rich text).

``**strong**`` → ``*strong*``, ``*em*`` → ``_em_``, ``code`` → ``{{code}}``, links → ``[text|url]``, headings →
``h1.``, lists → ``*``/``#`` (nested by repetition), quotes → ``{quote}``, code blocks → ``{code}``, rules → ``----``.
Characters that wiki markup would read as formatting are escaped with a backslash."""

from __future__ import annotations

import re

from markdown_it.token import Token

from trackers.jira.markdown import tokens

_SPECIAL = re.compile(r"([*_{}\[\]|^~+\-#!?])")


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def markdown_to_wiki(markdown: str) -> str:
    """The wiki markup of a Markdown text."""
    blocks: list[str] = []
    lists: list[str] = []  # "*" or "#", one per open list
    quote_depth = 0
    current: list[str] | None = None
    for token in tokens(markdown):
        kind = token.type
        if kind == "bullet_list_open":
            lists.append("*")
        elif kind == "ordered_list_open":
            lists.append("#")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "blockquote_open":
            quote_depth += 1
            if quote_depth == 1:
                blocks.append("{quote}")
        elif kind == "blockquote_close":
            quote_depth -= 1
            if quote_depth == 0:
                blocks.append("{quote}")
        elif kind == "heading_open":
            current = [f"{token.tag}. "]
        elif kind == "paragraph_open":
            current = [("".join(lists) + " ") if lists else ""]
        elif kind == "inline" and current is not None:
            current.append(_inline(token.children or []))
        elif kind in ("paragraph_close", "heading_close") and current is not None:
            blocks.append("".join(current))
            current = None
        elif kind in ("fence", "code_block"):
            language = token.info.strip().split()[0] if token.info.strip() else ""
            blocks.append(
                ("{code:" + language + "}" if language else "{code}") + "\n" + token.content.rstrip("\n") + "\n{code}"
            )
        elif kind == "hr":
            blocks.append("----")
        elif kind == "html_block":
            blocks.append(escape(token.content.rstrip("\n")))
    return _join(blocks)


def _join(blocks: list[str]) -> str:
    out = ""
    for block in blocks:
        if out:
            list_item = (
                block[:1] in ("*", "#") and out.rsplit("\n", 1)[-1][:1] in ("*", "#") and block[1:2] in (" ", "*", "#")
            )
            out += "\n" if list_item else "\n\n"
        out += block
    return out


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    link_text: list[str] | None = None
    href = ""
    for child in children:
        target = link_text if link_text is not None else out
        kind = child.type
        if kind in ("strong_open", "strong_close"):
            target.append("*")
        elif kind in ("em_open", "em_close"):
            target.append("_")
        elif kind == "code_inline":
            target.append("{{" + child.content + "}}")
        elif kind in ("softbreak", "hardbreak"):
            target.append("\n")
        elif kind == "link_open":
            link_text, href = [], str(child.attrGet("href") or "")
        elif kind == "link_close" and link_text is not None:
            text = "".join(link_text)
            out.append(f"[{text}|{href}]" if text and text != href else f"[{href}]")
            link_text = None
        elif kind in ("text", "html_inline"):
            target.append(escape(child.content))
        elif kind == "image":
            target.append(f"!{child.attrGet('src')}!")
    return "".join(out)
