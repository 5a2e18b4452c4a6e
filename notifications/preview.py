"""Previews for the admin: a mapping's templates rendered against a stored event, and stored outbound mail."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy

import nh3

from jemh.storage import blob_storage
from notifications.composing import issue_data
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from notifications.recipients import audience
from notifications.rendering import RenderedMail, build_context, render
from trackers.registry import get_tracker

PREVIEW_RECIPIENT = "recipient@example.invalid"
_MAIL_TAGS = nh3.ALLOWED_TAGS | {"table", "tbody", "thead", "tr", "td", "th", "div", "span", "center", "font"}
_MAIL_ATTRIBUTES = {
    tag: {"style", "align", "valign", "width", "bgcolor", "cellpadding", "cellspacing", "border", "role"}
    for tag in _MAIL_TAGS
}
_MAIL_ATTRIBUTES["a"] = _MAIL_ATTRIBUTES["a"] | {"href", "title"}
_MAIL_ATTRIBUTES["img"] = {"alt", "width", "height"}  # no src: remote images stay out of the admin


def preview_mapping(mapping: NotificationMapping, event: IssueEvent) -> RenderedMail:
    """Render the mapping's templates (as saved) against a stored event and its issue as it is now."""
    if event.payload is None:
        raise ValueError("This event's payload was dropped (no mapping wanted it); pick another event.")
    data = issue_data(get_tracker(event.instance), event.issue_key, [event])
    if data.view is None:
        raise ValueError(f"The issue {event.issue_key} no longer exists and the event holds no snapshot of it.")
    people = audience(mapping, data.view)
    context = build_context(
        instance=event.instance,
        issue=data.view,
        events=[event],
        recipient=people[0] if people else PREVIEW_RECIPIENT,
        comments=data.comments,
    )
    return render(mapping, context)


def sanitize_mail_html(html: str) -> str:
    """Stored or rendered mail HTML made safe to show (inside a sandboxed iframe) in the admin."""
    return nh3.clean(
        html,
        tags=_MAIL_TAGS,
        attributes=_MAIL_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


@dataclass(frozen=True)
class StoredMailView:
    headers: list[tuple[str, str]]
    text: str
    html: str  # sanitised
    attachments: list[str]


def stored_mail(outbound: OutboundMessage) -> StoredMailView | None:
    """The stored message of an outbound row, split for display; None when it is not kept."""
    if not outbound.blob_name:
        return None
    message = message_from_bytes(blob_storage().read_bytes(outbound.blob_name), policy=policy.default)
    text = html = ""
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            attachments.append(part.get_filename() or "(unnamed)")
        elif part.get_content_type() == "text/plain" and not text:
            text = part.get_content()
        elif part.get_content_type() == "text/html" and not html:
            html = part.get_content()
    return StoredMailView([(k, str(v)) for k, v in message.items()], text, sanitize_mail_html(html), attachments)
