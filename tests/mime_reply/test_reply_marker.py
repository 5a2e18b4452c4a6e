"""The "reply above this line" marker at the top of our notifications always ends the reply (even where a client
leaves the history unquoted), and a "-- " signature is cut from the reply text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.mime.reply import extract_reply, parse_reply

# The first line of notifications/templates/notifications/body.txt
MARKER = "-- Reply above this line to add a comment to ABC-1 --"
NOTIFICATION = f"""{MARKER}

ABC-1: Printer on fire
Alice commented

* Alice commented (2026-12-01 10:00 UTC)

Could you check the toner?

Status: Open | Priority: High | Assignee: Alice
https://tracker.example/browse/ABC-1

--
Acme. You receive this because you are involved in ABC-1.
"""


def test_outlook_reply_with_unquoted_history_is_cut_at_our_marker() -> None:
    # Outlook writes the history below a short header block, unquoted; two headers without an address are not
    # a header block by themselves, so only our marker tells where the reply ends
    body = f"Toner replaced, works again.\n\nDan\n\nFrom: Acme Support\nSent: Tuesday\n\n{NOTIFICATION}"
    parts = parse_reply(body)
    assert parts.text == "Toner replaced, works again.\n\nDan"
    assert parts.had_history


def test_outlook_reply_below_a_rule_of_underscores_is_cut_at_our_marker() -> None:
    body = (
        "Toner replaced.\n\n________________________________\nFrom: Acme Support <support@example.com>\n"
        "Sent: Tuesday, December 1, 2026 10:02 AM\nTo: Dan <dan@customer.example>\nSubject: [ABC-1] Printer on fire"
        f"\n\n{NOTIFICATION}"
    )
    assert extract_reply(body) == "Toner replaced."


def test_reply_directly_above_unquoted_history_is_cut_at_our_marker() -> None:
    # regression: with neither quotes nor a header block, the whole notification became part of the comment
    assert extract_reply(f"Toner replaced.\n\n{NOTIFICATION}") == "Toner replaced."


def test_quoted_marker_cuts_too() -> None:
    quoted = "\n".join(f"> {line}" if line else ">" for line in NOTIFICATION.splitlines())
    body = f"Toner replaced.\n\nOn Tue, Dec 1, 2026 at 10:02 Acme Support <support@example.com> wrote:\n{quoted}\n"
    assert extract_reply(body) == "Toner replaced."


def test_answer_below_a_quoted_notification_is_kept() -> None:
    # nothing above the marker but the attribution: the usual rules find the answer written below the quote
    quoted = "\n".join(f"> {line}" if line else ">" for line in NOTIFICATION.splitlines())
    body = f"On Tue, Dec 1, 2026 at 10:02 Acme Support <support@example.com> wrote:\n{quoted}\n\nToner replaced.\n"
    assert extract_reply(body) == "Toner replaced."


def test_html_reply_is_cut_at_our_html_marker() -> None:
    html = (
        "<html><body><div>Toner replaced.</div><div><br></div>"
        '<table><tr><td style="color:#9ca3af;">Reply above this line to add a comment to ABC-1</td></tr>'
        "<tr><td>ABC-1: Printer on fire</td></tr><tr><td>Could you check the toner?</td></tr></table></body></html>"
    )
    assert extract_reply("", html) == "Toner replaced."


def test_signature_above_our_marker_is_cut() -> None:
    body = f"Toner replaced.\n\n-- \nDan Example\nCustomer Ltd\n\n{NOTIFICATION}"
    assert extract_reply(body) == "Toner replaced."


@pytest.mark.parametrize(
    "marker",
    [
        "##- Please type your reply above this line -##",
        "-- Reply above this line --",
        "Please reply above this line",
        "> REPLY ABOVE THIS LINE to comment",
    ],
)
def test_helpdesk_markers_of_the_same_kind_cut(marker: str) -> None:
    assert extract_reply(f"Done.\n\n{marker}\n\nTicket 42: old text\nMore old text\n") == "Done."


def test_a_sentence_about_replying_is_not_a_marker() -> None:
    body = "You can reply above this line or below it, I don't mind.\n\nThanks"
    assert extract_reply(body) == body
    body = "I said: we should reply above this line\nok"
    assert extract_reply(body) == body


def test_rfc3676_signature_is_cut() -> None:
    assert extract_reply("Toner replaced.\n\n-- \nDan Example\nCustomer Ltd\n+1 555 0100\n") == "Toner replaced."


def test_reply_without_marker_or_signature_is_unchanged() -> None:
    body = "Toner replaced.\n\nIt works again -- thanks for the hint.\n- Dan's team"
    assert extract_reply(body) == body


def test_sender_line_starting_with_from_is_kept_above_the_header_block() -> None:
    history = f"________________\nFrom: Acme Support\nSent: Tuesday\n\n{NOTIFICATION}"
    body = f"From: the logs, the toner was empty.\nReplaced.\n{history}"
    assert extract_reply(body) == "From: the logs, the toner was empty.\nReplaced."


MARKERISH = st.lists(
    st.one_of(
        st.text(max_size=10),
        st.sampled_from(["\n", "> ", MARKER, "Reply above this line", "From: a@b.example", "Sent: x", "____", "-- "]),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKERISH)
def test_marker_never_empties_a_reply_with_text(body: str) -> None:
    reply = extract_reply(body)
    assert isinstance(reply, str)
    if body.strip():
        assert reply.strip()
