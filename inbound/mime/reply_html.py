"""HTML body -> plain text that keeps the quoting structure reply extraction needs.

Quoted blocks (``<blockquote>``) become ``> `` prefixed lines, the containers mail clients put quoted
history in (Outlook ``divRplyFwdMsg``, ``OLK_SRC_BODY_SECTION``, Yahoo ``yahoo_quoted``, ...) and
horizontal rules / top-bordered blocks become private-use marker lines (see ``reply_patterns``), and
attribution containers (Gmail ``gmail_attr``, Thunderbird ``moz-cite-prefix``) are flagged. The text
algorithm in ``reply.py`` then decides what to cut. Standard library only; never raises on bad markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from inbound.mime.limits import MAX_HTML_INPUT
from inbound.mime.reply_patterns import ATTR_MARK, MARK_TABLE, STRONG_MARK, WEAK_MARK

MAX_HTML = 400_000  # html.parser runs at ~1 MB/s; the new text of a reply is at the top
MAX_HTML_TAGS = 10_000  # and at ~5 us a tag: markup after the 10,000th "<" is not read (about 50 ms)
_TAG_BUDGET = re.compile(r"(?:[^<]*+<){" + str(MAX_HTML_TAGS) + "}")

_SKIP = frozenset({"head", "style", "script", "title", "template", "xml", "noscript", "svg", "object"})
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "figcaption",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "body",
        "html",
        "caption",
    }
)
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_STRONG_ID = re.compile(
    r"(?:^|_)(?:divRplyFwdMsg|OLK_SRC_BODY_SECTION|mail-editor-reference-message-container|RplyFwdMsg)$",
    re.IGNORECASE,
)
_STRONG_CLASS = re.compile(r"yahoo_quoted(?!_begin)|\bzmail_extra\b|\bOutlookMessageHeader\b", re.IGNORECASE)
_ATTR_CLASS = re.compile(r"gmail_attr|moz-cite-prefix|yahoo_quoted_begin|\bquote-header\b", re.IGNORECASE)
_TOP_BORDER = re.compile(r"border-top\s*:\s*(?:solid|[^;]{0,30}\bsolid)|border-top-style\s*:\s*solid", re.I)
_INDENT_ONLY = re.compile(r"border\s*:\s*none", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_MARK_RE = re.compile("[\ue000-\ue002]")
_DATA_URI = re.compile(r"data:[^\"'\s>]{200,}")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.current_depth = 0
        self.depth = 0
        self.skip = 0
        self.pre = 0
        self.stack: list[tuple[str, bool, bool, int]] = []  # (tag, is-quote, paragraph gap, first line)
        # where each tag and each quote is open in ``stack``, so an end tag finds its element without a walk
        self.open_at: dict[str, list[int]] = {}
        self.quotes_at: list[int] = []

    # -- output helpers ---------------------------------------------------------------------------
    def _flush(self, force: bool = False) -> None:
        text = "".join(self.current).strip(" ")
        if text or force:
            prefix = "> " * self.current_depth if self.current_depth else ""
            self.lines.append(prefix + text if text else prefix.rstrip())
        self.current = []
        self.current_depth = self.depth

    def _block(self) -> None:
        if self.current:
            self._flush()
        self.current_depth = self.depth

    def stack_has(self, tag: str) -> bool:
        return bool(self.open_at.get(tag))

    def _open_index(self, tag: str) -> int:
        """The innermost open ``tag`` an end tag closes (-1: none); a stray end tag never closes an enclosing quote
        (mis-nested tables), so only ``</blockquote>`` reaches past one."""
        positions = self.open_at.get(tag)
        if not positions:
            return -1
        if tag != "blockquote" and self.quotes_at and self.quotes_at[-1] > positions[-1]:
            return -1
        return positions[-1]

    def _marker(self, mark: str) -> None:
        self._block()
        self.lines.append(mark)

    # -- parser callbacks -------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "br":
            self._flush(force=True)
            return
        if tag in _BLOCK:
            self._block()
        if tag in {"ul", "ol"} and self.lines and self.lines[-1].strip() and not self.stack_has("li"):
            self._flush(force=True)  # a list is set off from the text before it by a blank line
        element_id = values.get("id", "")
        element_class = values.get("class", "")
        style = values.get("style", "")
        if (element_id and _STRONG_ID.search(element_id)) or (element_class and _STRONG_CLASS.search(element_class)):
            self._marker(STRONG_MARK)
        elif tag == "hr" or (tag in {"div", "p", "table", "td"} and style and _TOP_BORDER.search(style)):
            self._marker(WEAK_MARK)
        if element_class and _ATTR_CLASS.search(element_class):
            self._marker(ATTR_MARK)
        if tag == "li":
            self.current.append("- ")
        if tag == "pre":
            self.pre += 1
        if tag in _VOID:
            return
        quote = tag == "blockquote" and not (
            _INDENT_ONLY.search(style) and "cite" not in values.get("type", "") and "quote" not in element_class
        )
        if quote:
            self.depth += 1
            self.current_depth = self.depth
        gap = tag == "p" and "msonormal" not in element_class.lower()
        self.open_at.setdefault(tag, []).append(len(self.stack))
        if quote:
            self.quotes_at.append(len(self.stack))
        self.stack.append((tag, quote, gap, len(self.lines)))

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            if self.skip and tag not in _VOID:
                self.skip -= 1
            return
        if self.skip:
            return
        if tag in ("td", "th"):
            self.current.append(" ")
        if tag == "pre" and self.pre:
            self.pre -= 1
        # pop to the matching open element (tolerates unclosed children)
        index = self._open_index(tag)
        if index >= 0:
            _tag, _quote, gap, start = self.stack[index]
            blank_p = tag == "p" or (tag == "div" and bool(self.current))
            if blank_p and len(self.lines) == start and not "".join(self.current).strip():
                self._block()
                self._flush(force=True)  # an empty Outlook paragraph (&nbsp;) is a blank line
            for open_tag, quote, _gap, _start in self.stack[index:]:
                self.open_at[open_tag].pop()
                if quote:
                    self.quotes_at.pop()
                    self._block()
                    self.depth = max(0, self.depth - 1)
                    self.current_depth = self.depth
            del self.stack[index:]
            if gap:
                self._block()
                self._flush(force=True)
        if tag in _BLOCK:
            self._block()

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        if _MARK_RE.search(data):
            data = data.translate(MARK_TABLE)
        if self.pre:
            parts = data.replace("\r\n", "\n").split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._flush(force=True)
                self.current.append(part.replace("\xa0", " "))
            return
        text = _SPACES.sub(" ", data)
        if not self.current:
            text = text.lstrip(" ")
            if not text:
                return
            self.current_depth = self.depth
        self.current.append(text.replace("\xa0", " "))

    def result(self) -> str:
        self._block()
        return "\n".join(line.rstrip() for line in self.lines)


def html_to_marked_text(html: str, *, limit: int = MAX_HTML) -> str:
    """Convert HTML to text with ``> `` quoting and structure markers; '' on failure. Only the first ``limit``
    characters are read (inline data URIs beyond it are dropped first), and at most ``MAX_HTML_TAGS`` tags."""
    if not html:
        return ""
    if len(html) > limit:
        html = _DATA_URI.sub("", html[: limit * 3])[:limit]
    if html.count("<") > MAX_HTML_TAGS:
        budget = _TAG_BUDGET.match(html)
        html = html[: budget.end() - 1] if budget else html
    global _last_conversion
    last = _last_conversion
    if last is not None and (last[0] is html or last[0] == html):
        return last[1]  # the body text and the reply of an HTML-only message convert the same HTML
    text = _convert(html)
    _last_conversion = (html, text)
    return text


_last_conversion: tuple[str, str] | None = None  # the HTML and the text of the last conversion


def _convert(html: str) -> str:
    converter = _Converter()
    try:
        converter.feed(html)
        converter.close()
    except Exception:  # malformed markup: keep what was parsed so far
        pass
    return converter.result()


def html_to_text(html: str, *, limit: int = MAX_HTML_INPUT) -> str:
    """Plain readable text of an HTML body (quoted blocks kept with ``> ``, markers removed): the body text of
    HTML-only mail, and the one HTML-to-text conversion of the library."""
    return html_to_marked_text(html, limit=limit).translate(MARK_TABLE).strip()
