"""HTML bodies: sanitised for display (nh3) and turned into readable text when there is no plain part."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

from inbound.mime.limits import MAX_HTML_INPUT

_SAFE_STYLE = frozenset({
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight", "text-align",
    "text-decoration", "vertical-align", "white-space", "margin", "margin-left", "margin-right",
    "margin-top", "margin-bottom", "padding", "padding-left", "padding-right", "padding-top",
    "padding-bottom", "border", "border-collapse", "border-color", "border-style", "border-width",
    "width", "height", "line-height", "list-style-type", "direction",
})
_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("*", set()).update({"style", "dir", "lang", "title"})
_ATTRIBUTES.setdefault("font", set()).update({"color", "face", "size"})
for _cell in ("td", "th", "table", "tr"):
    _ATTRIBUTES.setdefault(_cell, set()).update({"width", "valign", "bgcolor"})
_INLINE_IMAGE = ("cid:", "data:image/png", "data:image/gif", "data:image/jpeg", "data:image/webp")


def _attribute_filter(allow_remote: bool):  # type: ignore[no-untyped-def]
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith(_INLINE_IMAGE) or (allow_remote and lowered.startswith("https:")):
                return value
            return None
        if attribute == "style" and ("url(" in value.lower() or "expression" in value.lower()):
            return None
        return value

    return keep


def sanitize_html(html: str, *, allow_remote_images: bool = False) -> str:
    """No scripts, event handlers, executable styles or remote fetches (unless allowed); cid: images kept."""
    if not html:
        return ""
    try:
        return nh3.clean(
            html[:MAX_HTML_INPUT],
            tags=_TAGS,
            clean_content_tags={"script", "style", "title", "head", "template", "noscript", "iframe", "object"},
            attributes=_ATTRIBUTES,
            attribute_filter=_attribute_filter(allow_remote_images),
            url_schemes={"http", "https", "mailto", "cid", "data", "tel"},
            filter_style_properties=set(_SAFE_STYLE),
            strip_comments=True,
            link_rel="noopener noreferrer nofollow",
        )
    except Exception:
        return ""


_BLOCK = frozenset({
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre",
    "ul", "ol", "hr", "section", "article", "header", "footer", "dd", "dt", "dl",
})
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0
        self.pre = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "blockquote":
            self.quote += 1
        if tag in _BLOCK:
            self.chunks.append("\n")
        if tag == "li":
            self.chunks.append("- ")
        elif tag in {"td", "th"}:
            self.chunks.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.chunks.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        if tag in _BLOCK and tag != "br":
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.quote:
            data = data.replace("\n", "\n> ")
            if self.chunks and self.chunks[-1].endswith("\n"):
                data = "> " + data.lstrip()
        self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: block structure kept as line breaks, markup dropped."""
    if not html:
        return ""
    writer = _TextWriter()
    try:
        writer.feed(html[:MAX_HTML_INPUT])
        writer.close()
    except Exception:
        return unescape(re.sub(r"<[^>]*>", " ", html[:MAX_HTML_INPUT])).strip()
    text = "".join(writer.chunks)
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    text = re.sub(r"\n[ \t]+(?!>)", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
