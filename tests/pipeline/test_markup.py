"""Pipeline text helpers: plain mail text as Markdown that renders back to the sender's text, and body delimiters
as regular expressions."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.pipeline.markup import as_markdown, cut_at_delimiter
from notifications.markdown import markdown_to_html
from tests.pipeline.conftest import mail
from trackers.models import Issue


class _Text(HTMLParser):
    """Rendered HTML as the text a reader sees: <br> a line break, a paragraph end a blank line; the tags seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def rendered_text(markdown: str) -> tuple[str, set[str]]:
    parser = _Text()
    parser.feed(markdown_to_html(markdown))
    parser.close()
    return "".join(parser.parts).strip("\n"), parser.tags


def normalised(text: str) -> str:
    """The whitespace normalisation ``as_markdown`` documents: lines (split at \\r\\n, \\r, \\n) stripped, runs of
    blank lines one blank line, no blank lines around the text; NUL dropped."""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text.replace("\x00", ""))]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# -- as_markdown -----------------------------------------------------------------------------------------------------
MARKDOWNISH = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(
            [
                "\n",
                "\n\n",
                "\r\n",
                "    ",
                "\t",
                "# ",
                "## ",
                "> ",
                "- ",
                "+ ",
                "* ",
                "1. ",
                "2) ",
                "---",
                "===",
                "***",
                "___",
                "~~~",
                "```",
                "`",
                "*",
                "**",
                "_",
                "__",
                "[",
                "]",
                "(",
                ")",
                "![",
                "](",
                "[x]: ",
                "<",
                ">",
                "&",
                "&amp;",
                "&#65;",
                "&copy;",
                "\\",
                "|",
                "!",
                "https://example.org/a_b*c",
                "www.example.org",
                "http://",
                "HTTPS://x.example/_a_/(b)",
                "mailto:",
                "bob@example.org",
                "<https://x.example>",
                "snake_case",
                "a",
                " ",
                "\u00a0",
                "\u2028",
                "\x0c",
            ]
        ),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(MARKDOWNISH)
def test_markdown_of_plain_text_renders_back_to_the_text(text: str) -> None:
    text_seen, tags = rendered_text(as_markdown(text))
    assert text_seen == normalised(text)
    assert tags <= {"p", "br", "a"}  # nothing became a heading, a list, a quote, code or emphasis


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_markdown_of_any_text_renders_back_to_the_text(text: str) -> None:
    text_seen, tags = rendered_text(as_markdown(text))
    assert text_seen == normalised(text)
    assert tags <= {"p", "br", "a"}


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("# not a heading", "\\# not a heading"),
        ("#hashtag", "#hashtag"),
        ("> not a quote", "\\> not a quote"),
        ("- not\n+ a\n* list", "\\- not  \n\\+ a  \n\\* list"),
        ("1. not\n2) a list", "1\\. not  \n2\\) a list"),
        ("1.5 litres", "1.5 litres"),
        ("title\n===\nsub\n---", "title  \n\\===  \nsub  \n\\---"),
        ("    not code\n\tnor this", "not code  \nnor this"),
        ("*not em* _nor this_ snake_case __init__", "\\*not em\\* \\_nor this\\_ snake_case \\_\\_init\\_\\_"),
        ("`not code`", "\\`not code\\`"),
        ("[not](a link) ![nor](an image)", "\\[not\\](a link) !\\[nor\\](an image)"),
        ("<https://x.example> <b>", "\\<<https://x.example>> \\<b>"),
        # addresses become autolinks: nothing in them is escaped, so no escape cuts the link short
        ("https://x.example/_layouts/a_b_.aspx.", "<https://x.example/_layouts/a_b_.aspx>."),
        ("(https://en.wikipedia.org/wiki/Mercury_(planet))", "(<https://en.wikipedia.org/wiki/Mercury_(planet)>)"),
        ("mailto:bob@x.example, or https://", "<mailto:bob@x.example>, or https://"),
        ("&amp; &#65; AT&T", "\\&amp; \\&#65; AT&T"),
        ("C:\\Users\\bob \\* \\", "C:\\Users\\bob \\\\\\* \\\\"),
        ("| a | b |", "\\| a | b |"),
        ("one\ntwo\n\n\n\nthree", "one  \ntwo\n\nthree"),
    ],
)
def test_markdown_escapes_only_what_commonmark_would_read(text: str, markdown: str) -> None:
    assert as_markdown(text) == markdown
    assert rendered_text(markdown)[0] == normalised(text)


def test_addresses_stay_whole_links() -> None:
    # an escaped "_" after "/" used to split a bare URL's link (SharePoint's /_layouts/ paths)
    html = markdown_to_html(as_markdown("see https://x.example/_layouts/15/start.aspx#/_a_/"))
    assert 'href="https://x.example/_layouts/15/start.aspx#/_a_/"' in html


def test_mailed_comment_shows_no_escapes() -> None:
    # regression: notifications of mailed-in comments showed "\#" and "\>" to their recipients
    html = markdown_to_html(as_markdown("# 1 Printer\n> jammed again\n1. paper\n---\nBob"))
    assert "\\" not in html and ">#" in html and "&gt; jammed again" in html and "<h3" not in html


# -- cut_at_delimiter ------------------------------------------------------------------------------------------------
def test_signature_delimiter_as_regex_cuts() -> None:
    # regression: delimiters were matched literally (str.find), so the documented "^-- $" never cut
    body = "The printer is on fire.\n\n-- \nBob Example\nACME Ltd\n"
    assert cut_at_delimiter(body, ("^-- $",)) == ("The printer is on fire.", "^-- $")


def test_delimiter_anchors_are_line_anchors() -> None:
    body = "use -- in a sentence\nstill text\n--\nsig"
    assert cut_at_delimiter(body, ("^--$",)) == ("use -- in a sentence\nstill text", "^--$")
    assert cut_at_delimiter(body, ("^-- $",)) == (body, "")


def test_delimiters_are_case_insensitive_and_the_earliest_wins() -> None:
    body = "Please fix.\nsent from my phone\nmore\n-- \nBob"
    assert cut_at_delimiter(body, ("^-- $", "^Sent from my")) == ("Please fix.", "^Sent from my")


def test_delimiter_cuts_its_whole_line() -> None:
    body = "Reply here.\n> ----- Original Message -----\n> old"
    assert cut_at_delimiter(body, ("-{5} Original Message",)) == ("Reply here.", "-{5} Original Message")


def test_delimiter_with_crlf_line_ends() -> None:
    assert cut_at_delimiter("Hi\r\nthere\r\n-- \r\nBob\r\n", ("^-- $",)) == ("Hi\r\nthere", "^-- $")
    assert cut_at_delimiter("Hi\rthere\r-- \rBob", ("^-- $",)) == ("Hi\rthere", "^-- $")


def test_body_without_a_delimiter_is_unchanged() -> None:
    body = "Line one\n\n--not a signature\n  indented  \n"
    assert cut_at_delimiter(body, ("^-- $", "^Sent from my")) == (body, "")
    assert cut_at_delimiter(body, ()) == (body, "")


@pytest.mark.parametrize("bad", ["(", "[a-", "*", "a{2,1}", "", "^$", "x*", "Sent from|", "(?:)"])
def test_invalid_or_empty_matching_delimiters_are_skipped(bad: str) -> None:
    body = "Fixed.\n\n-- \nBob"
    assert cut_at_delimiter(body, (bad,)) == (body, "")
    assert cut_at_delimiter(body, (bad, "^-- $")) == ("Fixed.", "^-- $")


# -- through the pipeline --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_configured_signature_delimiter_cuts_the_description(deliver, profile) -> None:
    # regression: "^-- $" was looked for literally, so the signature became part of the issue
    profile.mappings.update(body_delimiters="^-- $")
    deliver(mail(body="The printer is on fire.\n\n-- \nCarol Customer\nCustomer Ltd\n"))
    assert Issue.objects.get().description == "The printer is on fire."


@pytest.mark.django_db
def test_mailed_text_is_stored_as_markdown_that_renders_as_written(deliver) -> None:
    text = "# 2 printers\n> both jammed\n1. paper tray\n* toner_low, see C:\\logs\\*.txt"
    deliver(mail(body=text))
    description = Issue.objects.get().description
    assert description == as_markdown(text)
    assert rendered_text(description) == (text, {"p", "br"})
