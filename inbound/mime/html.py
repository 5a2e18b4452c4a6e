"""HTML bodies sanitised for display (nh3). Text from HTML is made by ``reply_html.html_to_text``."""

from __future__ import annotations

from collections.abc import Callable

import nh3

from inbound.mime.html_nesting import cap_nesting
from inbound.mime.limits import MAX_HTML_INPUT

_SAFE_STYLE = frozenset(
    {
        "color",
        "background-color",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "text-align",
        "text-decoration",
        "vertical-align",
        "white-space",
        "margin",
        "margin-left",
        "margin-right",
        "margin-top",
        "margin-bottom",
        "padding",
        "padding-left",
        "padding-right",
        "padding-top",
        "padding-bottom",
        "border",
        "border-collapse",
        "border-color",
        "border-style",
        "border-width",
        "width",
        "height",
        "line-height",
        "list-style-type",
        "direction",
    }
)
_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("*", set()).update({"style", "dir", "lang", "title"})
_ATTRIBUTES.setdefault("font", set()).update({"color", "face", "size"})
for _cell in ("td", "th", "table", "tr"):
    _ATTRIBUTES.setdefault(_cell, set()).update({"width", "valign", "bgcolor"})
_INLINE_IMAGE = ("cid:", "data:image/png", "data:image/gif", "data:image/jpeg", "data:image/webp")


def _attribute_filter(allow_remote: bool) -> Callable[[str, str, str], str | None]:
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
    """No scripts, event handlers, executable styles or remote fetches (unless allowed); cid: images kept.
    Tags nested deeper than ``html_nesting.MAX_NESTING`` are dropped first (their text is kept)."""
    if not html:
        return ""
    try:
        flat, _capped = cap_nesting(html[:MAX_HTML_INPUT])
        return nh3.clean(
            flat,
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
