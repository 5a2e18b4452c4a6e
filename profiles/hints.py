"""Hints: short, polite mail telling a sender why their message was not processed. Defaults and rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping

from profiles.choices import HintReason

# Placeholders a hint text may use; anything else in braces is left as written.
PLACEHOLDERS = ("issue_key", "subject", "days", "limit", "sender")

DEFAULT_HINTS: dict[str, tuple[str, str]] = {
    HintReason.RESOLVED_TOO_LONG: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. {issue_key} was resolved more than {days} days ago, so your "
        "reply was not added to it. If you still need help, please send a new message without the issue "
        "key in the subject and we will open a new request.\n\nKind regards",
    ),
    HintReason.COMMENT_ONLY_NO_MATCH: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. This address only accepts replies to existing requests, and "
        "we could not tell which request your message belongs to. Please reply to one of our messages, or "
        "keep the request key (for example ABC-123) in the subject.\n\nKind regards",
    ),
    HintReason.NOT_PARTICIPANT: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. Only the people taking part in {issue_key} can add to it by "
        "mail, so your message was not added. Please ask someone taking part to add you.\n\nKind regards",
    ),
    HintReason.NOT_ALLOWED_TO_WRITE: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. Only the people taking part in {issue_key} can add to it by "
        "mail, so your message was not added. If you need help, please send a new message without the issue "
        "key in the subject.\n\nKind regards",
    ),
    HintReason.UNKNOWN_SENDER: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. This address only accepts mail from people with an account, "
        "and we could not find one for {sender}. Please write from the address of your account.\n\n"
        "Kind regards",
    ),
    HintReason.COMMENT_LIMIT: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. {issue_key} has reached its limit of {limit} comments by "
        "mail, so your message was not added. Please open a new request if you need more help.\n\n"
        "Kind regards",
    ),
    HintReason.COMMENT_RATE: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. {issue_key} received more than {limit} messages in the last "
        "hour, so yours was not added. Please try again a little later.\n\nKind regards",
    ),
    HintReason.BODY_TOO_LARGE: (
        "Re: {subject}",
        "Hello,\n\nthank you for your message. It is longer than the {limit} characters we accept, so it "
        "was not processed. Please send a shorter message, with long content as an attachment.\n\n"
        "Kind regards",
    ),
}

_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def render_hint(template: str, context: Mapping[str, object]) -> str:
    """Replace known ``{placeholder}``s with values from context; unknown or missing ones stay as written."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(context[name]) if name in context and context[name] is not None else match.group(0)

    return _PLACEHOLDER.sub(substitute, template)
