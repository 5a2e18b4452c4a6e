"""A small, safe Markdown subset for comment bodies in notification mail, and the sanitiser behind it.

Everything is HTML-escaped first, then a few constructs become tags (paragraphs, line breaks, quotes, lists,
code, emphasis, links to http/https/mailto), and the result goes through nh3 with a short allow-list. So a
hostile comment can never bring a script, an event handler or a ``javascript:`` link into our mail.
"""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
_STYLES = {
    "blockquote": "margin:0 0 12px 0;padding:0 0 0 12px;border-left:3px solid #d0d7de;color:#57606a;",
    "pre": "margin:0 0 12px 0;padding:8px;background:#f6f8fa;font-family:Menlo,Consolas,monospace;"
    "font-size:13px;white-space:pre-wrap;word-break:break-word;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:13px;background:#f6f8fa;",
    "p": "margin:0 0 12px 0;",
    "a": "color:#0969da;",
}

_FENCE = re.compile(r"^```")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBER = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EM = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BARE_URL = re.compile(r"(?<![\"'=>])\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def sanitize_html(fragment: str) -> str:
    """nh3 with our allow-list: the last word on any HTML that goes into a notification."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def _safe_url(url: str) -> str | None:
    unescaped = html.unescape(url).strip()
    scheme = unescaped.split(":", 1)[0].lower() if ":" in unescaped else ""
    return url if scheme in URL_SCHEMES else None


def _inline(text: str) -> str:
    """Inline markup on already-escaped text; code spans are protected from the other rules."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE.sub(keep, text)

    def link(match: re.Match[str]) -> str:
        url = _safe_url(match.group(2))
        return f'<a href="{url}">{match.group(1)}</a>' if url else match.group(0)

    text = _LINK.sub(link, text)
    text = _BARE_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', text)
    text = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
    text = _EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _FENCE.match(line):
            body = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            out.append("<pre>" + "\n".join(body) + "</pre>")
            i += 1
            continue
        if line.startswith("&gt;"):
            quoted = []
            while i < len(lines) and lines[i].startswith("&gt;"):
                quoted.append(re.sub(r"^&gt;\s?", "", lines[i]))
                i += 1
            out.append("<blockquote>" + "".join(_blocks(quoted)) + "</blockquote>")
            continue
        heading = _HEADING.match(line)
        if heading:
            level = "h3" if len(heading.group(1)) <= 2 else "h4"
            out.append(f"<{level}>{_inline(heading.group(2))}</{level}>")
            i += 1
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBER, "ol")):
            if pattern.match(line):
                items = []
                while i < len(lines) and pattern.match(lines[i]):
                    items.append(f"<li>{_inline(pattern.match(lines[i]).group(1))}</li>")  # type: ignore[union-attr]
                    i += 1
                out.append(f"<{tag}>{''.join(items)}</{tag}>")
                break
        else:
            para = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not (
                    _FENCE.match(lines[i])
                    or lines[i].startswith("&gt;")
                    or _BULLET.match(lines[i])
                    or _HEADING.match(lines[i])
                )
            ):
                para.append(_inline(lines[i]))
                i += 1
            out.append("<p>" + "<br>".join(para) + "</p>")
    return out


def _style(fragment: str) -> str:
    for tag, style in _STYLES.items():
        fragment = re.sub(rf"<{tag}(?=[\s>])", f'<{tag} style="{style}"', fragment)
    return fragment


def markdown_to_html(text: str) -> str:
    """Safe HTML (with inline styles for mail clients) for a Markdown comment or description."""
    escaped = html.escape(text or "", quote=True).replace("\r\n", "\n").replace("\r", "\n")
    return _style(sanitize_html("".join(_blocks(escaped.split("\n")))))
