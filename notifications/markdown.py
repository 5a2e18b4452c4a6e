"""Markdown of comment bodies and descriptions as safe HTML for notification mail, and the sanitiser behind it.

The Markdown is CommonMark, parsed by markdown-it-py with raw HTML off (``<b>`` stays text), line breaks kept
(mail comments are written line by line) and bare URLs made links (linkify). Links and autolinks survive only
with an http, https or mailto destination; images are shown as their alt text (mail clients would fetch them);
headings become ``h3``/``h4``. The HTML then goes through nh3 with a short allow-list as the last pass, so a
hostile comment can never bring a script, an event handler or a ``javascript:`` link into our mail, and every
link gets ``rel="noopener noreferrer"``. Inline styles for mail clients are added after sanitising.

Hostile input is bounded: markdown-it nests blocks and inline markup at most ``MAX_NESTING`` deep (deeper
markup is not rendered) and its parsing is linear, but pure Python and about ten microseconds a character on
bracket-heavy text. So a text longer than ``MAX_MARKDOWN_CHARS``, or with more than ``MAX_LINK_OPENERS`` ``[``
(no human-written comment has that many; a log paste or an attack does), is shown as plain text instead: escaped,
paragraphs and line breaks kept, no markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_core.linkify import linkify
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"
MAX_NESTING = 20  # markdown-it's CommonMark default, stated here because the hostile-input tests rely on it
MAX_MARKDOWN_CHARS = 50_000  # longer texts are shown as plain text (rendering cost grows with the length)
MAX_LINKIFY_CHARS = 2_000  # bare URLs are linked in paragraphs up to this long (linkify-it is quadratic)
MAX_LINK_OPENERS = 2_000  # more "[" than this: plain text (each costs the parser a nested look-ahead)
_LINK_SCHEMES = URL_SCHEMES | {"attachment"}  # attachment: the inline-image references the pipeline writes
_HEADING_TAGS = {"h1": "h3", "h2": "h3", "h3": "h4", "h4": "h4", "h5": "h4", "h6": "h4"}
_STYLES = {
    "blockquote": "margin:0 0 12px 0;padding:0 0 0 12px;border-left:3px solid #d0d7de;color:#57606a;",
    "pre": "margin:0 0 12px 0;padding:8px;background:#f6f8fa;font-family:Menlo,Consolas,monospace;"
    "font-size:13px;white-space:pre-wrap;word-break:break-word;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:13px;background:#f6f8fa;",
    "p": "margin:0 0 12px 0;",
    "a": "color:#0969da;",
}
# the newlines markdown-it writes around block tags and after a <br> (never inside <pre>: its content has no tags)
_AFTER_BLOCK_TAG = re.compile(r"(<(?:/?(?:p|ul|ol|li|blockquote|h3|h4|pre)|hr|br)(?:\s[^>]*)?>)\n")
_BEFORE_BLOCK_TAG = re.compile(r"\n(?=<(?:ul|ol|blockquote|pre|p|h3|h4|hr)[\s>])")


def _scheme(url: str) -> str | None:
    scheme, colon, _rest = url.strip().partition(":")
    return scheme.lower() if colon else None


def _allowed_url(url: str) -> bool:
    return _scheme(url) in URL_SCHEMES


class _MailRenderer(RendererHTML):
    """markdown-it's HTML renderer with mail's choices: smaller headings, images as their alt text."""

    def heading_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        tokens[idx].tag = _HEADING_TAGS.get(tokens[idx].tag, "h4")
        return self.renderToken(tokens, idx, options, env)

    heading_close = heading_open

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return escapeHtml(self.renderInlineAsText(tokens[idx].children, options, env))


class _MailMarkdown(MarkdownIt):
    """CommonMark without raw HTML; link destinations limited to our schemes, link text shown as written."""

    def validateLink(self, url: str) -> bool:
        # anything else stays text; an attachment: link keeps its text and loses its destination (nh3),
        # an attachment: image is shown as its alt text
        return _scheme(url) in _LINK_SCHEMES

    def normalizeLinkText(self, link: str) -> str:
        # shown as the sender wrote it: no percent-decoding, and no punycode turned into look-alike Unicode
        return link


def _bounded_linkify(state: StateCore) -> None:
    """markdown-it's linkify on the paragraphs (inline blocks) of at most ``MAX_LINKIFY_CHARS`` characters."""
    tokens = state.tokens
    state.tokens = [token for token in tokens if token.type == "inline" and len(token.content) <= MAX_LINKIFY_CHARS]
    try:
        linkify(state)  # replaces the children of the inline tokens it is given
    finally:
        state.tokens = tokens


def _parser() -> MarkdownIt:
    options: dict[str, Any] = {"html": False, "linkify": True, "breaks": True, "maxNesting": MAX_NESTING}
    parser = _MailMarkdown("commonmark", options, renderer_cls=_MailRenderer)
    # bare URLs: the core rule only, bounded; the inline rule re-scans the pending text at every "://"
    parser.core.ruler.after("inline", "bounded_linkify", _bounded_linkify)
    return parser


_MARKDOWN = _parser()


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href" and not _allowed_url(value):
        return None  # relative and unknown-scheme links lose their destination
    return value


def sanitize_html(fragment: str) -> str:
    """nh3 with our allow-list: the last word on any HTML that goes into a notification."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def _style(fragment: str) -> str:
    for tag, style in _STYLES.items():
        fragment = re.sub(rf"<{tag}(?=[\s>])", f'<{tag} style="{style}"', fragment)
    return fragment


def _plain_html(text: str) -> str:
    """The text as HTML paragraphs with line breaks, nothing interpreted (for texts too costly to parse)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = (html.escape(paragraph, quote=False) for paragraph in re.split(r"\n[ \t]*\n\s*", text))
    return "".join("<p>" + paragraph.replace("\n", "<br>") + "</p>" for paragraph in paragraphs if paragraph)


def _too_costly(text: str) -> bool:
    return len(text) > MAX_MARKDOWN_CHARS or text.count("[") > MAX_LINK_OPENERS


def markdown_to_html(text: str) -> str:
    """Safe HTML (with inline styles for mail clients) for a Markdown comment or description."""
    if not text:
        return ""
    rendered = _plain_html(text) if _too_costly(text) else _MARKDOWN.render(text)
    compact = _BEFORE_BLOCK_TAG.sub("", _AFTER_BLOCK_TAG.sub(r"\1", sanitize_html(rendered)))
    return _style(compact.strip())
