"""The outbound audit in the admin (issue 12): every kind of mail listed with its recipients, subject and status,
filtered by kind and status, linked to what caused it; and the instance's *Send a test mail* action, behind its own
permission, recorded as a test mail and sent through the real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from django.utils.html import format_html

from notifications.admin import inbound_message_url
from notifications.choices import EventStatus, OutboundKind, OutboundStatus
from notifications.models import IssueEvent, OutboundMessage
from notifications.services import send_mail
from tests.notifications.helpers import flush_now
from tests.tenancy import member_of_every_instance
from trackers.interface import NewIssue
from trackers.models import Issue

CHANGELIST = "admin:notifications_outboundmessage_changelist"


def staff(username: str, *perms: tuple[str, str]) -> Client:
    user = member_of_every_instance(
        get_user_model().objects.create_user(username, f"{username}@example.org", is_staff=True)
    )
    for app_label, codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def superuser() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client = Client()
    client.force_login(user)
    return client


def one_mail(instance: Any, kind: str, to: str, subject: str, **links: Any) -> OutboundMessage:
    message = EmailMessage(subject, "Body", "noreply@example.com", [to])
    [sent] = send_mail(kind=kind, instance=instance, message=message, **links)
    return OutboundMessage.objects.get(pk=sent.outbound_id)


def test_the_list_takes_the_view_permission(instance: Any, smtp_mail: Any) -> None:
    one_mail(instance, OutboundKind.HINT, "carol@customer.example", "Rejected")
    assert staff("nobody").get(reverse(CHANGELIST)).status_code == 403
    allowed = staff("viewer", ("notifications", "view_outboundmessage")).get(reverse(CHANGELIST))
    assert allowed.status_code == 200 and "carol@customer.example" in allowed.content.decode()


def test_a_notification_is_recorded_as_kind_notification(tracker: Any, mapping: Any, smtp_mail: Any) -> None:
    issue = tracker.create_issue(
        NewIssue(project_key="ABC", summary="Kinds", email_sender_address="c@example.net", assignee="alice")
    )
    result = flush_now(IssueEvent.objects.get(issue_key=issue.key).instance, issue.key)
    assert result.outbound_ids
    assert set(OutboundMessage.objects.values_list("kind", flat=True)) == {OutboundKind.NOTIFICATION}


def test_every_kind_is_recorded_and_sent_through_smtp(instance: Any, smtp_mail: Any) -> None:
    for kind in (OutboundKind.HINT, OutboundKind.FORWARD, OutboundKind.ALERT, OutboundKind.TEST):
        row = one_mail(instance, kind, f"{kind}@example.net", f"A {kind}")
        assert (row.kind, row.status, row.recipients, row.subject) == (
            kind,
            "sent",
            [f"{kind}@example.net"],
            f"A {kind}",
        )
    received = smtp_mail.wait_for(4)
    assert sorted(r.envelope_to[0] for r in received) == sorted(
        f"{k}@example.net" for k in ("hint", "forward", "alert", "test")
    )


def test_the_list_shows_kind_recipients_subject_status_and_filters(instance: Any, smtp_mail: Any) -> None:
    hint = one_mail(instance, OutboundKind.HINT, "carol@customer.example", "Why your mail was rejected", inbound_id=77)
    one_mail(instance, OutboundKind.ALERT, "ops@example.test", "Source disabled")
    OutboundMessage.objects.filter(kind=OutboundKind.ALERT).update(status=OutboundStatus.FAILED)
    client = superuser()
    page = client.get(reverse(CHANGELIST)).content.decode()
    for text in ("carol@customer.example", "Why your mail was rejected", "ops@example.test", "Hint (why", "Alert to"):
        assert text in page
    hints = client.get(reverse(CHANGELIST), {"kind__exact": "hint"}).content.decode()
    assert "Why your mail was rejected" in hints and "Source disabled" not in hints
    failed = client.get(reverse(CHANGELIST), {"status__exact": "failed"}).content.decode()
    assert "Source disabled" in failed and "Why your mail was rejected" not in failed
    url = inbound_message_url(77)
    assert url.endswith("/77/change/") and url in page  # the link to the inbound message that caused the hint
    detail = client.get(reverse("admin:notifications_outboundmessage_change", args=[hint.pk])).content.decode()
    assert url in detail and "inbound message #77" in detail


def test_the_detail_links_the_issue_and_the_events(tracker: Any, mapping: Any, smtp_mail: Any) -> None:
    issue = tracker.create_issue(
        NewIssue(project_key="ABC", summary="Linked", email_sender_address="c@example.net", assignee="alice")
    )
    event = IssueEvent.objects.get(issue_key=issue.key)
    outbound_id = flush_now(event.instance, issue.key).outbound_ids[0]
    client = superuser()
    detail = client.get(reverse("admin:notifications_outboundmessage_change", args=[outbound_id])).content.decode()
    assert reverse("admin:notifications_issueevent_change", args=[event.pk]) in detail
    local = Issue.objects.get(key=issue.key)
    assert (
        format_html('<a href="{}">{}</a>', reverse("admin:trackers_issue_change", args=[local.pk]), issue.key) in detail
    )
    page = client.get(reverse("admin:notifications_issueevent_change", args=[event.pk])).content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.NOTIFIED
    assert "Sent (its mail was made" in page  # the event's status in the audit's words
    assert reverse("admin:notifications_outboundmessage_change", args=[outbound_id]) in page  # its report


def test_the_issue_event_status_words_match_the_audit() -> None:
    words = {s: str(label).split(" ")[0].rstrip(":").lower() for s, label in EventStatus.choices}
    assert words == {
        "pending": "queued",
        "processing": "processing",
        "notified": "sent",
        "dropped": "ignored",
        "ignored": "ignored",
        "failed": "failed",
    }


def test_the_test_mail_action_needs_its_permission(instance: Any, smtp_mail: Any) -> None:
    changelist = reverse("admin:jemh_instance_changelist")
    viewer = staff("viewer", ("jemh", "view_instance"))
    assert "send_test_mail" not in viewer.get(changelist).content.decode()
    viewer.post(changelist, {"action": "send_test_mail", "_selected_action": [instance.pk], "apply": "1"})
    assert not OutboundMessage.objects.exists() and smtp_mail.received == []

    sender = staff("sender", ("jemh", "view_instance"), ("notifications", "send_test_mail"))
    assert "send_test_mail" in sender.get(changelist).content.decode()
    form = sender.post(changelist, {"action": "send_test_mail", "_selected_action": [instance.pk]})
    assert form.status_code == 200 and 'value="sender@example.org"' in form.content.decode()  # the admin's address
    done = sender.post(
        changelist,
        {"action": "send_test_mail", "_selected_action": [instance.pk], "apply": "1", "address": "it@example.net"},
        follow=True,
    )
    assert "the server accepted it" in done.content.decode()
    [received] = smtp_mail.wait_for(1)
    assert received.envelope_to == ["it@example.net"] and "Test mail from Acme Support" in str(
        received.message["Subject"]
    )
    [row] = OutboundMessage.objects.all()
    assert (row.kind, row.status, row.instance_id, row.recipients) == ("test", "sent", instance.pk, ["it@example.net"])


def test_the_test_mail_reports_an_outage_and_is_retried(instance: Any, smtp_mail: Any, settings: Any) -> None:
    from tests.services.base import free_port

    settings.EMAIL_PORT = free_port()
    client = staff("sender", ("jemh", "view_instance"), ("notifications", "send_test_mail"))
    done = client.post(
        reverse("admin:jemh_instance_changelist"),
        {"action": "send_test_mail", "_selected_action": [instance.pk], "apply": "1", "address": "it@example.net"},
        follow=True,
    )
    assert "not sent yet, it is retried: SMTP server unreachable" in done.content.decode()
    [row] = OutboundMessage.objects.all()
    assert (row.kind, row.status, row.attempts) == (OutboundKind.TEST, OutboundStatus.RETRYING, 0)


@pytest.mark.parametrize("address", ["", "not an address"])
def test_the_test_mail_form_rejects_a_bad_address(instance: Any, smtp_mail: Any, address: str) -> None:
    client = staff("sender", ("jemh", "view_instance"), ("notifications", "send_test_mail"))
    page = client.post(
        reverse("admin:jemh_instance_changelist"),
        {"action": "send_test_mail", "_selected_action": [instance.pk], "apply": "1", "address": address},
    )
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not OutboundMessage.objects.exists()


def test_a_failed_event_is_run_again_by_a_holder_of_its_permission_and_recorded(
    tracker: Any, mapping: Any, smtp_mail: Any
) -> None:
    """Issue 12: issue events get the outbound audit's treatment: status, reason, report, and "run again"."""
    issue = tracker.create_issue(
        NewIssue(project_key="ABC", summary="Again", email_sender_address="c@customer.example", assignee="alice")
    )
    event = IssueEvent.objects.get(issue_key=issue.key)
    IssueEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED, reason="the renderer broke")
    events = reverse("admin:notifications_issueevent_changelist")
    viewer = staff("viewer", ("notifications", "view_issueevent"))
    listing = viewer.get(events).content.decode()
    assert "the renderer broke" in listing and "Failed (see reason)" in listing
    assert f'<a href="{reverse("admin:trackers_issue_change", args=[Issue.objects.get().pk])}">' in listing
    viewer.post(events, {"action": "run_again", "_selected_action": [event.pk]})
    assert IssueEvent.objects.get(pk=event.pk).status == EventStatus.FAILED  # refused: not theirs to do

    runner = staff("runner", ("notifications", "view_issueevent"), ("notifications", "run_issueevent_again"))
    page = runner.post(events, {"action": "run_again", "_selected_action": [event.pk]}, follow=True).content.decode()
    assert "1 event(s) run again." in page
    event.refresh_from_db()
    assert event.status == EventStatus.NOTIFIED and event.outbound_messages.exists()
    entry = LogEntry.objects.get(object_id=str(event.pk), content_type__model="issueevent")
    assert entry.user.username == "runner" and entry.change_message == "Run again from the admin."
    report = runner.get(reverse("admin:notifications_issueevent_change", args=[event.pk])).content.decode()
    assert "Mail made from it" in report
