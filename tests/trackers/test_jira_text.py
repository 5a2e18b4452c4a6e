"""Our Markdown as Jira text: ADF for Cloud (valid against Atlassian's ADF schema) and wiki markup for DC."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trackers.jira_fake.spec import check_adf
from trackers.jira.adf import adf_lines, adf_to_text, lines_to_adf, markdown_to_adf
from trackers.jira.wiki import markdown_to_wiki

SAMPLES = [
    "",
    "plain",
    "It *burns*.\n\n> quoted\n> > twice",
    "# Title\n\n## Sub\n\ntext with `code` and **bold _nested_**",
    "- one\n- two\n  - nested\n\n1. first\n2. second",
    "```python\nprint('x')\n```\n\n```\n```",
    "a [link](https://example.org) and <https://auto.example>\n\n---\n\n![logo](https://x.example/l.png)",
    "line one\nline two  \nline three",
    "<div>html block</div>\n\ninline <b>html</b>",
    "* [x] not a task list\n\n> - quoted list",
]


@pytest.mark.parametrize("markdown", SAMPLES)
def test_markdown_becomes_valid_adf(markdown: str) -> None:
    check_adf(markdown_to_adf(markdown), markdown)


def test_adf_keeps_structure_and_marks() -> None:
    document = markdown_to_adf("# Hi\n\nIt **burns** at [home](https://h.example).\n\n- a\n- b")
    heading, paragraph, bullets = document["content"]
    assert heading == {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "Hi"}]}
    assert {"type": "text", "text": "burns", "marks": [{"type": "strong"}]} in paragraph["content"]
    link = {"type": "text", "text": "home", "marks": [{"type": "link", "attrs": {"href": "https://h.example"}}]}
    assert link in paragraph["content"]
    assert [item["type"] for item in bullets["content"]] == ["listItem", "listItem"]
    assert adf_to_text(document) == "Hi\n\nIt burns at home.\n\na\nb"


def test_lines_round_trip_through_adf() -> None:
    addresses = ["dave@customer.example", "erin@customer.example"]
    check_adf(lines_to_adf(addresses), "participants")
    assert adf_lines(lines_to_adf(addresses)) == addresses


@pytest.mark.parametrize(
    ("markdown", "wiki"),
    [
        ("It *burns* **now**", "It _burns_ *now*"),
        ("# Title", "h1. Title"),
        ("`x` and [home](https://h.example)", "{{x}} and [home|https://h.example]"),
        ("- a\n- b", "* a\n* b"),
        ("1. a\n2. b", "# a\n# b"),
        ("```sql\nselect 1\n```", "{code:sql}\nselect 1\n{code}"),
        ("> quoted", "{quote}\n\nquoted\n\n{quote}"),
        ("a [b] c*d", "a \\[b\\] c\\*d"),  # wiki's own markup characters are escaped
        ("---", "----"),
    ],
)
def test_markdown_becomes_wiki_markup(markdown: str, wiki: str) -> None:
    assert markdown_to_wiki(markdown) == wiki


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab *_`#>-1.[]()!<>\n\t\\|{}~")), max_size=60))
def test_any_markdown_becomes_valid_adf(markdown: str) -> None:
    check_adf(markdown_to_adf(markdown), repr(markdown))
