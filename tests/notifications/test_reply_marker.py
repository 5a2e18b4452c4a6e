"""The marker our notifications carry ("Reply above this line") is the one inbound reply extraction cuts at, in
the text and in the HTML part: a template change that drifted from inbound/mime/reply_patterns.py would fail here."""

from __future__ import annotations

from typing import Any

from inbound.mime.reply import extract_reply
from notifications.rendering import render

CONTEXT: dict[str, Any] = {
    "can_reply": True,
    "is_deleted": False,
    "instance_name": "Acme",
    "issue": {"key": "ABC-1", "summary": "Printer on fire", "description_text": "", "assignee": "Alice"},
    "events": [],
    "headline": "Alice commented",
}


def _outlook_reply(history: str) -> str:
    """An Outlook reply: the answer, a rule, a short header block, then the notification unquoted."""
    return f"Toner replaced.\n\n________________________________\nFrom: Acme Support\nSent: Tuesday\n\n{history}"


def test_reply_to_our_text_notification_is_cut_at_its_marker() -> None:
    mail = render(None, CONTEXT)
    assert mail.text is not None and "Reply above this line" in mail.text
    assert extract_reply(_outlook_reply(mail.text)) == "Toner replaced."
    assert extract_reply(f"Toner replaced.\n{mail.text}") == "Toner replaced."


def test_reply_to_our_html_notification_is_cut_at_its_marker() -> None:
    mail = render(None, CONTEXT)
    assert mail.html is not None and "Reply above this line" in mail.html
    outlook = (
        '<html><body><div>Toner replaced.</div><hr><div id="divRplyFwdMsg"><b>From:</b> Acme Support<br>'
        f"<b>Sent:</b> Tuesday</div>{mail.html}</body></html>"
    )
    assert extract_reply("", outlook) == "Toner replaced."
    gmail = f'<div>Toner replaced.</div><blockquote class="gmail_quote">{mail.html}</blockquote>'
    assert extract_reply("", gmail) == "Toner replaced."
