"""Event intake (local signal, Jira payloads), the Markdown sanitiser, rendering, retention and the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jemh.storage import blob_storage
from notifications.choices import EventStatus, OutboundStatus
from notifications.intake import InvalidEvent, jira_event_arguments, record_event
from notifications.markdown import markdown_to_html
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from notifications.retention import purge_expired
from tests.notifications.helpers import flush_now
from trackers.interface import NewIssue

JIRA_COMMENT = {
    "id": "delivery-1",
    "timestamp": 1700000000000,
    "webhookEvent": "comment_created",
    "user": {"accountId": "5b10", "displayName": "Jo Agent", "emailAddress": "jo@example.org"},
    "issue": {
        "key": "ABC-7",
        "fields": {
            "summary": "VPN down",
            "status": {"name": "Open"},
            "project": {"key": "ABC"},
            "reporter": {"emailAddress": "rita@example.net", "displayName": "Rita"},
        },
    },
    "comment": {"id": "10010", "body": "Restarted it", "author": {"displayName": "Jo Agent"}},
}


def test_jira_webhook_bodies_become_the_same_call(instance: Any, mapping: NotificationMapping) -> None:
    arguments = jira_event_arguments(JIRA_COMMENT)
    assert arguments["kind"] == "commented" and arguments["issue_key"] == "ABC-7"
    assert arguments["actor"]["email"] == "jo@example.org" and arguments["external_id"] == "delivery-1"
    first = record_event(instance_id=instance.pk, **arguments)
    again = record_event(instance_id=instance.pk, **jira_event_arguments(JIRA_COMMENT))
    assert again.pk == first.pk, "a second delivery of the same webhook is not a second event"
    assert first.payload["comment"]["body"] == "Restarted it" and first.source == "jira"
    resolved = {
        **JIRA_COMMENT,
        "id": "d2",
        "webhookEvent": "jira:issue_updated",
        "comment": None,
        "changelog": {"items": [{"field": "resolution", "fromString": None, "toString": "Done"}]},
    }
    assert jira_event_arguments(resolved)["kind"] == "resolved"
    with pytest.raises(InvalidEvent, match="unsupported"):
        jira_event_arguments({"webhookEvent": "worklog_updated"})


def test_an_issue_gone_from_the_tracker_is_notified_from_the_event_snapshot(
    instance: Any, mapping: Any, smtp_mail: Any
) -> None:
    from tests.notifications.helpers import by_recipient, send_queued

    record_event(instance_id=instance.pk, **jira_event_arguments(JIRA_COMMENT))
    flush_now(instance, "ABC-7")
    send_queued()
    mails = by_recipient(smtp_mail.wait_for(1))
    assert set(mails) == {"rita@example.net"}
    assert "Restarted it" in mails["rita@example.net"].get_body(("plain",)).get_content()


def test_bad_events_get_a_clear_error(instance: Any) -> None:
    with pytest.raises(InvalidEvent, match="unknown event kind"):
        record_event(instance_id=instance.pk, kind="exploded", issue_key="ABC-1")
    with pytest.raises(InvalidEvent, match="not an issue key"):
        record_event(instance_id=instance.pk, kind="created", issue_key="nonsense")


def test_a_deleted_local_issue_without_snapshot_is_ignored_with_a_reason(tracker: Any, mapping: Any) -> None:
    record_event(instance_id=mapping.instance.pk, kind="deleted", issue_key="ABC-99")
    flush_now(mapping.instance, "ABC-99")
    event = IssueEvent.objects.get(issue_key="ABC-99")
    assert event.status == EventStatus.IGNORED and "no longer exists" in event.reason


def test_a_broken_template_fails_the_event_with_the_reason(tracker: Any, mapping: Any) -> None:
    NotificationMapping.objects.filter(pk=mapping.pk).update(text_template="{% if %}")
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="x", reporter="bob", assignee="alice"))
    flush_now(mapping.instance, issue.key)
    event = IssueEvent.objects.get(issue_key=issue.key)
    assert event.status == EventStatus.FAILED and "TemplateSyntaxError" in event.reason
    assert OutboundMessage.objects.count() == 0
    mapping.text_template = "{% if %}"
    with pytest.raises(Exception, match="Template error"):
        mapping.full_clean()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold** and _em_", "<strong>bold</strong> and <em>em</em>"),
        ("`<b>`", "<code"),
        ("> quoted\n> more", "<blockquote"),
        ("- one\n- two", "<li>one</li><li>two</li>"),
        ("see https://example.org/a?b=1&c=2.", 'href="https://example.org/a?b=1&amp;c=2"'),
    ],
)
def test_markdown_subset(source: str, expected: str) -> None:
    assert expected in markdown_to_html(source)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "<img src=x onerror=alert(1)>",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        '"><svg onload=alert(1)>',
    ],
)
def test_markdown_never_lets_markup_through(hostile: str) -> None:
    html = markdown_to_html(hostile)
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert 'href="javascript' not in html.lower() and 'href="data' not in html


def test_purge_removes_expired_events_and_outbound_mail(tracker: Any, mapping: Any, smtp_mail: Any) -> None:
    issue = tracker.create_issue(NewIssue(project_key="ABC", summary="Old", reporter="bob", assignee="alice"))
    flush_now(mapping.instance, issue.key)
    row = OutboundMessage.objects.get()
    assert row.expires_at - row.created_at == timedelta(days=30)
    event = IssueEvent.objects.get(issue_key=issue.key)
    assert event.expires_at - event.received_at == timedelta(days=7)
    assert purge_expired() == {"events": 0, "outbound": 0, "blobs": 0}
    # a queued mail is kept, even past its expiry
    assert purge_expired(timezone.now() + timedelta(days=31)) == {"events": 1, "outbound": 0, "blobs": 0}
    OutboundMessage.objects.update(status=OutboundStatus.SENT)
    result = purge_expired(timezone.now() + timedelta(days=31))
    assert result == {"events": 0, "outbound": 1, "blobs": 1}
    assert not blob_storage().exists(row.blob_name)


def test_beat_schedules_are_registered(transactional_db: None) -> None:
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("notifications.migrations.0002_beat_schedule")
    migration.register(apps, None)  # the test database is flushed between tests: run the data migration again
    migration.register(apps, None)  # and it is idempotent
    assert PeriodicTask.objects.filter(task__startswith="notifications.").count() == 2
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"notifications.sweep", "notifications.purge"} <= names


def test_admin_preview_shows_html_only_in_a_sandboxed_iframe(
    tracker: Any, mapping: Any, client: Any, admin_user: Any
) -> None:
    issue = tracker.create_issue(
        NewIssue(project_key="ABC", summary="<script>alert('x')</script>", reporter="bob", assignee="alice")
    )
    event = IssueEvent.objects.get(issue_key=issue.key)
    client.force_login(admin_user)
    page = client.get(f"/admin/notifications/notificationmapping/{mapping.pk}/preview/?event={event.pk}")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<script>alert" not in body and '<iframe sandbox=""' in body
    assert "&lt;table" in body.split('<iframe sandbox=""', 1)[1], "the HTML is inside the iframe's srcdoc, escaped"
    flush_now(mapping.instance, issue.key)
    outbound = OutboundMessage.objects.first()
    detail = client.get(f"/admin/notifications/outboundmessage/{outbound.pk}/change/").content.decode()
    assert "<script>alert" not in detail and "alice@example.org" in detail
    events = client.get(f"/admin/notifications/issueevent/{event.pk}/change/").content.decode()
    assert "payload (decrypted)" in events.lower() and '"via": "api"' in events.replace("&quot;", '"')
