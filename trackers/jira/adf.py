"""Markdown → Atlassian Document Format (Jira Cloud's REST v3 rich text), and ADF → plain text.

The ADF produced is valid against Atlassian's ADF JSON schema (``adf-schema.json``): paragraphs, headings,
bullet and ordered lists, block quotes, code blocks, rules; text marked strong, em, code and link; line breaks
inside a paragraph become ``hardBreak`` (mail text keeps its lines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markdown_it.token import Token

from trackers.jira.markdown import tokens

Node = dict[str, Any]

_BLOCKS: dict[str, Callable[[Token], Node]] = {
    "paragraph_open": lambda t: {"type": "paragraph", "content": []},
    "heading_open": lambda t: {"type": "heading", "attrs": {"level": int(t.tag[1])}, "content": []},
    "bullet_list_open": lambda t: {"type": "bulletList", "content": []},
    "ordered_list_open": lambda t: {"type": "orderedList", "content": []},
    "list_item_open": lambda t: {"type": "listItem", "content": []},
    "blockquote_open": lambda t: {"type": "blockquote", "content": []},
}
_MARKS = {"strong_open": "strong", "em_open": "em"}


def document(content: list[Node]) -> Node:
    return {"type": "doc", "version": 1, "content": content}


def markdown_to_adf(markdown: str) -> Node:
    """The ADF document of a Markdown text."""
    root: Node = document([])
    stack: list[Node] = [root]
    for token in tokens(markdown):
        if token.type in _BLOCKS:
            node = _BLOCKS[token.type](token)
            stack[-1]["content"].append(node)
            stack.append(node)
        elif token.type.endswith("_close"):
            node = stack.pop()
            if node["type"] in ("paragraph", "heading") and not node["content"]:
                node.pop("content")
        elif token.type == "inline":
            stack[-1]["content"].extend(_inline(token.children or []))
        elif token.type in ("fence", "code_block"):
            code: Node = {"type": "codeBlock", "content": [{"type": "text", "text": token.content.rstrip("\n")}]}
            if token.info.strip():
                code["attrs"] = {"language": token.info.strip().split()[0]}
            if not token.content.strip("\n"):
                code.pop("content")
            stack[-1]["content"].append(code)
        elif token.type == "hr":
            stack[-1]["content"].append({"type": "rule"})
        elif token.type == "html_block":
            stack[-1]["content"].append(paragraph(token.content.rstrip("\n")))
    return _fit(root)


def _as_paragraphs(node: Node) -> list[Node]:
    """A block where only paragraphs may stand (inside a quote): its text as paragraphs."""
    kind = node["type"]
    if kind == "paragraph":
        return [node]
    if kind == "heading":
        return [{"type": "paragraph", "content": node["content"]} if node.get("content") else {"type": "paragraph"}]
    if kind in ("blockquote", "listItem"):
        return [p for child in node.get("content") or [] for p in _as_paragraphs(child)]
    if kind in ("bulletList", "orderedList"):
        out: list[Node] = []
        for number, item in enumerate(node.get("content") or [], start=1):
            marker = "- " if kind == "bulletList" else f"{number}. "
            for index, block in enumerate(_as_paragraphs(item)):
                if index == 0:
                    block = {
                        "type": "paragraph",
                        "content": [{"type": "text", "text": marker}, *block.get("content", [])],
                    }
                out.append(block)
        return out
    return [paragraph(adf_to_text(node))]


def _fit(node: Node) -> Node:
    """Reshape what Markdown allows and ADF does not: a quote holds only paragraphs; a list item starts with a
    paragraph or code block and holds no headings or quotes."""
    children = [_fit(child) for child in node.get("content") or []] if node.get("type") != "text" else None
    if children is None or "content" not in node:
        return node
    if node["type"] == "blockquote":
        children = [p for child in children for p in _as_paragraphs(child)] or [{"type": "paragraph"}]
    elif node["type"] == "listItem":
        fitted: list[Node] = []
        for child in children:
            if child["type"] in ("heading", "blockquote"):
                fitted.extend(_as_paragraphs(child))
            else:
                fitted.append(child)
        if not fitted or fitted[0]["type"] not in ("paragraph", "codeBlock"):
            fitted.insert(0, {"type": "paragraph"})
        children = fitted
    return {**node, "content": children}


def paragraph(text: str) -> Node:
    """A paragraph of plain text; its lines joined by hard breaks."""
    content: list[Node] = []
    for number, line in enumerate(text.split("\n")):
        if number:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content} if content else {"type": "paragraph"}


def lines_to_adf(lines: list[str]) -> Node:
    """A document of one paragraph per line (a multi-line text field's value, e.g. Email Participants)."""
    return document([paragraph(line) for line in lines])


def _inline(children: list[Token]) -> list[Node]:
    out: list[Node] = []
    marks: list[dict[str, Any]] = []
    for child in children:
        if child.type in _MARKS:
            marks.append({"type": _MARKS[child.type]})
        elif child.type in ("strong_close", "em_close", "link_close"):
            if marks:
                marks.pop()
        elif child.type == "link_open":
            marks.append({"type": "link", "attrs": {"href": str(child.attrGet("href") or "")}})
        elif child.type in ("softbreak", "hardbreak"):
            out.append({"type": "hardBreak"})
        elif child.type == "code_inline":
            code_marks = [m for m in marks if m["type"] == "link"] + [{"type": "code"}]
            out.append({"type": "text", "text": child.content, "marks": code_marks})
        elif child.type in ("text", "html_inline") and child.content:
            node: Node = {"type": "text", "text": child.content}
            if marks:
                node["marks"] = [dict(m) for m in marks]
            out.append(node)
        elif child.type == "image":
            alt = child.content or str(child.attrGet("src") or "")
            if alt:
                out.append(
                    {
                        "type": "text",
                        "text": alt,
                        "marks": [{"type": "link", "attrs": {"href": str(child.attrGet("src"))}}],
                    }
                )
    return out


def adf_to_text(node: Any) -> str:
    """The plain text of an ADF document (blocks separated by blank lines, hard breaks as newlines)."""
    if not isinstance(node, dict):
        return "" if node is None else str(node)
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    children = [adf_to_text(c) for c in node.get("content") or []]
    if kind in ("doc", "blockquote", "bulletList", "orderedList", "listItem", "table", "tableRow", "panel"):
        return "\n\n".join(c for c in children if c) if kind in ("doc", "blockquote") else "\n".join(children)
    return "".join(children)


def adf_lines(node: Any) -> list[str]:
    """The non-empty lines of an ADF document."""
    return [line.strip() for line in adf_to_text(node).splitlines() if line.strip()]
