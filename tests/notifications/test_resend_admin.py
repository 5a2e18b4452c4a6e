"""Failed notifications are sent again from the admin (a button on the mail's page, a bulk action, and one on
issue events), by users holding the ``resend_notification`` permission only (issue 11, finding 6: only a shell
could recover them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, OutboundMessage
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.tenancy import member_of_every_instance
from trackers.interface import NewIssue

VIEW_ONLY = ["view_outboundmessage", "view_issueevent"]


def staff_client(username: str, codenames: list[str]) -> tuple[Client, Any]:
    user = member_of_every_instance(
        get_user_model().objects.create_user(username, f"{username}@example.org", is_staff=True)
    )
    chosen = Permission.objects.filter(content_type__app_label="notifications", codename__in=codenames)
    user.user_permissions.set(chosen)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture()
def failed(tracker: Any, mapping: Any, smtp_mail: Any, settings: Any) -> list[OutboundMessage]:
    """Three notifications that failed for good (the server answered 451 to the only attempt allowed)."""
    settings.JEMH_NOTIFICATION_MAX_ATTEMPTS = 1
    issue = tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="Failed",
            email_sender_address="carol@customer.example",
            email_participants=("dave@customer.example",),
            assignee="alice",
            watchers=("bob",),
        )
    )
    flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)
    smtp_mail.refuse = True
    assert {r.status for r in send_queued()} == {OutboundStatus.FAILED}
    smtp_mail.refuse = False
    settings.JEMH_NOTIFICATION_MAX_ATTEMPTS = 8
    rows = list(OutboundMessage.objects.order_by("pk"))
    assert len(rows) == 3
    return rows


def change_url(row: OutboundMessage) -> str:
    return reverse("admin:notifications_outboundmessage_change", args=[row.pk])


def resend_url(row: OutboundMessage) -> str:
    return reverse("admin:notifications_outboundmessage_resend", args=[row.pk])


def test_without_the_permission_there_is_no_button_no_action_and_a_403(failed: list[OutboundMessage]) -> None:
    client, _ = staff_client("viewer", VIEW_ONLY)
    page = client.get(change_url(failed[0]))
    assert page.status_code == 200 and "Send again" not in page.content.decode()
    listing = client.get(reverse("admin:notifications_outboundmessage_changelist")).content.decode()
    assert "resend_selected" not in listing
    events = client.get(reverse("admin:notifications_issueevent_changelist")).content.decode()
    # Issue 12: running events again takes its own permission too (a viewer was offered it before).
    assert "resend_their_failed_mail" not in events and "run_again" not in events
    assert client.post(resend_url(failed[0])).status_code == 403
    client.post(
        reverse("admin:notifications_outboundmessage_changelist"),
        {"action": "resend_selected", "_selected_action": [r.pk for r in failed]},
    )
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.FAILED}
    assert send_queued() == []


def test_the_button_sends_one_failed_mail_again_and_records_who(failed: list[OutboundMessage], smtp_mail: Any) -> None:
    client, user = staff_client("resender", [*VIEW_ONLY, "resend_notification"])
    page = client.get(change_url(failed[0])).content.decode()
    assert "Send again" in page and resend_url(failed[0]) in page
    assert client.get(resend_url(failed[0])).status_code == 405, "a change only by POST"
    response = client.post(resend_url(failed[0]))
    assert response.status_code == 302 and response["Location"] == change_url(failed[0])
    row = OutboundMessage.objects.get(pk=failed[0].pk)
    assert (row.status, row.attempts, row.error, row.resent_by) == (OutboundStatus.QUEUED, 0, "", user)
    assert row.resent_at is not None
    entry = LogEntry.objects.get(object_id=str(row.pk))
    assert entry.user == user and "Sent again" in entry.get_change_message()
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT]
    assert list(by_recipient(smtp_mail.wait_for(1))) == row.recipients
    assert OutboundMessage.objects.filter(status=OutboundStatus.FAILED).count() == 2
    assert "Send again" not in client.get(change_url(row)).content.decode(), "a sent mail has no button"
    client.post(resend_url(row))
    assert OutboundMessage.objects.get(pk=row.pk).status == OutboundStatus.SENT, "a sent mail is not sent again"


def test_the_bulk_action_sends_the_failed_ones_again_and_leaves_the_rest(
    failed: list[OutboundMessage], smtp_mail: Any
) -> None:
    client, user = staff_client("resender", [*VIEW_ONLY, "resend_notification"])
    OutboundMessage.objects.filter(pk=failed[2].pk).update(status=OutboundStatus.SENT)
    response = client.post(
        reverse("admin:notifications_outboundmessage_changelist"),
        {"action": "resend_selected", "_selected_action": [r.pk for r in failed]},
        follow=True,
    )
    assert "2 notification(s) queued to be sent again (1 not failed" in response.content.decode()
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 2
    assert len(smtp_mail.wait_for(2)) == 2
    assert LogEntry.objects.filter(user=user).count() == 2


def test_events_send_their_failed_mail_again_and_run_again_says_why_not(
    failed: list[OutboundMessage], smtp_mail: Any
) -> None:
    client, _ = staff_client("resender", [*VIEW_ONLY, "resend_notification", "run_issueevent_again"])
    event = IssueEvent.objects.get()
    assert event.status == EventStatus.NOTIFIED
    url = reverse("admin:notifications_issueevent_changelist")
    page = client.post(url, {"action": "run_again", "_selected_action": [event.pk]}, follow=True).content.decode()
    assert "1 notified event(s) left alone" in page
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.FAILED}

    page = client.post(
        url, {"action": "resend_their_failed_mail", "_selected_action": [event.pk]}, follow=True
    ).content.decode()
    assert "3 failed notification(s) of these events queued" in page
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 3
    assert len(by_recipient(smtp_mail.wait_for(3))) == 3
