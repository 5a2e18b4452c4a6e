"""The mapping's mail format is a MailFormat; an unknown stored value fails closed (no mail, the reason kept)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from notifications.choices import EventStatus, MailFormat
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from notifications.rendering import mail_format
from tests.notifications.helpers import flush_now
from trackers.interface import NewIssue


def test_the_format_is_a_member_of_mail_format() -> None:
    assert mail_format(None) is MailFormat.BOTH
    assert mail_format(SimpleNamespace(format="text")) is MailFormat.TEXT


def test_an_unknown_format_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match=r"'Ops' has the unknown mail format 'rtf' \(expected one of both, html"):
        mail_format(SimpleNamespace(name="Ops", format="rtf"))


# Regression: an unknown format rendered neither text nor HTML, so a mail without a body went out.
def test_an_unknown_format_fails_the_event_instead_of_sending_an_empty_mail(tracker: Any, mapping: Any) -> None:
    NotificationMapping.objects.filter(pk=mapping.pk).update(format="rtf")
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="x", reporter="bob", assignee="alice"))
    flush_now(mapping.instance, issue.key)
    event = IssueEvent.objects.get(issue_key=issue.key)
    assert event.status == EventStatus.FAILED and "unknown mail format 'rtf'" in event.reason
    assert OutboundMessage.objects.count() == 0
