"""HTML nesting capped before it reaches an HTML5 tree builder, whose cost grows with the nesting depth.

html5ever (inside nh3) checks "is there a <p> in scope" for every block tag by walking the stack of open
elements, so a few hundred KB of nested ``<div>`` cost it minutes (quadratic). ``cap_nesting`` finds the tags
with a linear scan that follows the HTML5 tokenizer where it decides what is a tag (comments, quoted attribute
values, raw-text elements such as ``<script>``), tracks the open elements roughly as the tree builder does, and
drops the start tags (with their end tags) that would open an element deeper than ``max_depth``; their text is
kept. Where its picture of the tree is unsure it counts an element as still open, so it may drop too much on
broken markup, never too little. It only removes tags: the result is still sanitised by nh3.
"""

from __future__ import annotations

import re
from collections import Counter

MAX_NESTING = 128  # open elements; Blink stops nesting at 512, mail nests a few dozen deep

# A tag with what follows its name up to its ">" (the tokenizer's attribute states: group 4 is None when the tag
# never ends -- EOF in a tag or a quoted value, and the tokenizer drops the rest), a comment opening, or a bogus
# comment ("<!x", "<?x", "</1"). Every quantifier is possessive, so each search is linear in what it reads.
_TOKEN = re.compile(
    r"<(?:(!--)|(/?)([A-Za-z][^\t\n\f\r />]*+)"
    r"(?:(?:[\t\n\f\r /]++"
    r"|[^\t\n\f\r />][^\t\n\f\r />=]*+(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+)?)?"
    r")*+(>))?|[!?/])"
)
_COMMENT_END = re.compile(r"--!?>")
_VOID = frozenset(
    [
        "area",
        "base",
        "basefont",
        "bgsound",
        "br",
        "col",
        "embed",
        "frame",
        "hr",
        "image",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Elements whose end tag may be left out: the tree builder closes them itself, so they never nest by themselves.
_IMPLIED = frozenset(
    [
        "p",
        "li",
        "dd",
        "dt",
        "option",
        "optgroup",
        "rb",
        "rp",
        "rt",
        "rtc",
        "tr",
        "td",
        "th",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "colgroup",
        "html",
        "head",
        "body",
        "frameset",
    ]
)
# Elements that stop the tree builder's walks down the stack ("in scope", "any other end tag").
_BARRIER = frozenset(["table", "object", "applet", "marquee", "template", "button", "select", "svg", "math"])
_FORMATTING = frozenset(
    ["a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"]
)
_SPECIAL = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "iframe",
        "listing",
        "main",
        "menu",
        "nav",
        "ol",
        "pre",
        "section",
        "summary",
        "ul",
        "xmp",
        "noembed",
        "noframes",
        "noscript",
        "plaintext",
        "script",
        "style",
        "textarea",
        "title",
    ]
)
_RAW_TEXT = frozenset(["script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title", "plaintext"])
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_UNCOUNTED = _VOID | _IMPLIED
_CLOSE_FIRST = frozenset(["a", "nobr", "button"])
_RAW_END: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />])", re.IGNORECASE) for name in _RAW_TEXT
}


class _Tree:
    """The open elements as far as nesting goes: names, and where the last barrier and special element are."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.where: dict[str, list[int]] = {}
        self.barriers: list[int] = []
        self.specials: list[int] = []
        self.pending: list[str] = []  # formatting elements a block end closed: reopened by the next inline content
        self.pending_count: Counter[str] = Counter()
        self.foreign = 0

    def depth(self) -> int:
        return len(self.names)

    def push(self, name: str) -> None:
        index = len(self.names)
        self.names.append(name)
        self.where.setdefault(name, []).append(index)
        if name in _BARRIER:
            self.barriers.append(index)
            self.foreign += name in {"svg", "math"}
        if name in _SPECIAL or name in _BARRIER:
            self.specials.append(index)

    def pop_to(self, index: int, *, keep_formatting: bool) -> None:
        while len(self.names) > index:
            position = len(self.names) - 1
            name = self.names.pop()
            self.where[name].pop()
            if self.barriers and self.barriers[-1] == position:
                self.barriers.pop()
                self.foreign -= name in {"svg", "math"}
            if self.specials and self.specials[-1] == position:
                self.specials.pop()
            if keep_formatting and name in _FORMATTING and position > index:
                self.pending.append(name)
                self.pending_count[name] += 1

    def top(self, name: str) -> int:
        positions = self.where.get(name)
        return positions[-1] if positions else -1

    def close(self, name: str) -> bool:
        """Close the innermost ``name`` if the tree builder surely would; False when it stays open."""
        index = self.top(name)
        if index < 0:
            if self.pending_count[name]:  # closing a formatting element that a block end closed already
                at = len(self.pending) - 1 - self.pending[::-1].index(name)
                del self.pending[at]
                self.pending_count[name] -= 1
            return False
        if self.barriers and self.barriers[-1] > index and name not in _BARRIER:
            return False
        if name not in _SPECIAL and self.specials and self.specials[-1] > index:
            return False  # the adoption agency or "any other end tag" would not simply pop
        self.pop_to(index, keep_formatting=name in _SPECIAL)
        return True

    def reopen(self, max_depth: int) -> None:
        for name in self.pending[: max(0, max_depth - len(self.names))]:
            self.push(name)
        self.pending.clear()
        self.pending_count.clear()


def cap_nesting(html: str, max_depth: int = MAX_NESTING) -> tuple[str, bool]:
    """``html`` without the tags nested deeper than ``max_depth``, and whether any were dropped."""
    if html.count("<") <= max_depth:
        return html, False
    tree = _Tree()
    dropped: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []
    pos, size = 0, len(html)
    search = _TOKEN.search
    names = tree.names
    while pos < size:
        token = search(html, pos)
        if token is None:
            break
        start = token.start()
        if tree.pending and start > pos:
            tree.reopen(max_depth)  # text reopens the formatting elements a block end closed
        comment, slash, name, ended = token.groups()
        pos = token.end()
        if comment:  # "<!-->" and "<!--->" end at once, others at "-->" or "--!>"
            if html.startswith(">", pos) or html.startswith("->", pos):
                pos = html.find(">", pos) + 1
                continue
            end = _COMMENT_END.search(html, pos)
            if end is None:
                break
            pos = end.end()
            continue
        if name is None:  # a bogus comment up to ">"
            close = html.find(">", pos)
            if close < 0:
                break
            pos = close + 1
            continue
        if ended is None:
            break  # the tag never ends: the tokenizer drops the rest of the document
        name = name.lower()
        if slash:  # end tag
            if dropped.get(name):
                dropped[name] -= 1
                cuts.append((start, pos))
            elif name not in _UNCOUNTED:
                tree.close(name)
            continue
        if name in _UNCOUNTED:
            continue
        if tree.foreign and html[pos - 2] == "/":
            continue  # self-closing in SVG and MathML
        if tree.pending and name not in _SPECIAL:
            tree.reopen(max_depth)
        if name in _CLOSE_FIRST or (name in _HEADINGS and names and names[-1] in _HEADINGS):
            tree.close(name if name not in _HEADINGS else names[-1])  # these close the open one first
        if len(names) >= max_depth:
            dropped[name] = dropped.get(name, 0) + 1
            cuts.append((start, pos))
            continue
        tree.push(name)
        if name in _RAW_TEXT and not tree.foreign:
            if name == "plaintext":
                break
            end_tag = _RAW_END[name].search(html, pos)
            if end_tag is None:
                break
            pos = end_tag.start()
    if not cuts:
        return html, False
    kept: list[str] = []
    last = 0
    for start, stop in cuts:
        kept.append(html[last:start])
        last = stop
    kept.append(html[last:])
    return "".join(kept), True
