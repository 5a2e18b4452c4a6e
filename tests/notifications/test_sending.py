"""Issue events of the local tracker become real mail on a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from jemh.storage import blob_storage
from notifications import threading
from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, NotificationDelivery, NotificationMapping, OutboundMessage
from notifications.sending import send_many, send_outbound
from tests.notifications.helpers import by_recipient, flush_now, parts, send_queued
from trackers.interface import IssueUpdate, NewComment, NewIssue

CUSTOMER = "carol@customer.example"
PARTICIPANT = "dave@customer.example"


def new_issue(tracker: Any, summary: str = "Printer on fire", **extra: Any) -> Any:
    fields = {
        "project_key": "ABC",
        "summary": summary,
        "description": "It *really* burns.",
        "email_sender_address": CUSTOMER,
        "email_sender_name": "Carol",
        "email_participants": (PARTICIPANT,),
        "assignee": "alice",
        "watchers": ("bob",),
        **extra,
    }
    return tracker.create_issue(NewIssue(**fields))


def test_issue_created_notifies_everyone_involved_with_both_parts(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any
) -> None:
    mapping.skip_actor = False
    mapping.save()
    issue = new_issue(tracker)
    event = IssueEvent.objects.get(issue_key=issue.key)
    assert (event.kind, event.status, event.actor["email"]) == ("created", EventStatus.PENDING, CUSTOMER)

    result = flush_now(tracker.instance if hasattr(tracker, "instance") else event.instance, issue.key)
    assert result.events == 1 and len(result.outbound_ids) == 4
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 4
    mails = by_recipient(smtp_mail.wait_for(4))
    assert set(mails) == {CUSTOMER, PARTICIPANT, "alice@example.org", "bob@example.org"}
    message = mails[PARTICIPANT]
    assert message["Subject"] == f"[{issue.key}] Printer on fire"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "Printer on fire" in text and "created the issue" in text and "It *really* burns." in text
    assert "<table" in html and "Printer on fire" in html and "<em>really</em>" in html
    event.refresh_from_db()
    assert event.status == EventStatus.NOTIFIED and "4 recipient" in event.reason


def test_threading_and_loop_safety_headers(tracker: Any, mapping: NotificationMapping, smtp_mail: Any) -> None:
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    send_queued()
    first = by_recipient(smtp_mail.wait_for(3))[PARTICIPANT]
    root = threading.thread_root_id(instance.pk, issue.key)

    assert threading.parse_our_message_id(first["Message-ID"]) == (instance.pk, issue.key)
    assert first["In-Reply-To"] == root and first["References"] == root
    assert threading.is_our_fingerprint(first[threading.FINGERPRINT_HEADER])
    assert threading.fingerprint_instance(first[threading.FINGERPRINT_HEADER]) == instance.pk
    assert (first["Auto-Submitted"], first["X-Auto-Response-Suppress"], first["Precedence"]) == (
        "auto-generated",
        "All",
        "bulk",
    )
    assert first["List-Id"] is None
    token = threading.parse_reply_address(first["Reply-To"])
    assert token is not None and (token.instance_id, token.issue_key) == (instance.pk, issue.key)
    assert token.sent_to(PARTICIPANT) and first["Reply-To"].startswith("support+t-")

    smtp_mail.clear()
    tracker.add_comment(issue.key, NewComment(body="On it.", author="alice"))
    flush_now(instance, issue.key)
    send_queued()
    second = by_recipient(smtp_mail.wait_for(3))[PARTICIPANT]
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"].split()[:2] == [root, first["Message-ID"]]
    assert second["Message-ID"] != first["Message-ID"]
    # the tracker knows our Message-IDs, so a reply's In-Reply-To finds the issue
    assert tracker.find_issue_by_message_ids([second["Message-ID"]]).key == issue.key


def test_the_commenter_is_not_notified_of_their_own_comment(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any
) -> None:
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    send_queued()
    assert CUSTOMER not in by_recipient(smtp_mail.wait_for(3)), "the customer created it: not told"
    smtp_mail.clear()

    tracker.add_comment(issue.key, NewComment(body="Have you tried **water**?", author="alice"))
    flush_now(instance, issue.key)
    send_queued()
    mails = by_recipient(smtp_mail.wait_for(3))
    assert set(mails) == {CUSTOMER, PARTICIPANT, "bob@example.org"}
    text, html = parts(mails[CUSTOMER])
    assert "Have you tried **water**?" in text and "<strong>water</strong>" in html
    assert "Alice Agent" in text


def test_events_within_the_window_are_merged_into_one_mail(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any
) -> None:
    mapping.batch_window_seconds = 60
    mapping.save()
    issue = new_issue(tracker)
    tracker.add_comment(issue.key, NewComment(body="Merged comment", author="alice"))
    tracker.update_issue(issue.key, IssueUpdate(priority="High"))
    events = IssueEvent.objects.filter(issue_key=issue.key)
    assert events.count() == 3 and all(e.status == EventStatus.PENDING for e in events)
    from notifications.batching import flush_issue

    instance = events[0].instance
    assert flush_issue(instance.pk, issue.key).events == 0, "the window has not ended yet"
    result = flush_now(instance, issue.key)
    assert result.events == 3
    send_queued()
    mails = by_recipient(smtp_mail.wait_for(4))
    text, _ = parts(mails[PARTICIPANT])
    assert "created the issue" in text and "Merged comment" in text and "High" in text
    assert NotificationDelivery.objects.filter(
        outbound__recipient_hash=OutboundMessage.objects.get(pk=result.outbound_ids[0]).recipient_hash
    ).count() in {2, 3}
    assert OutboundMessage.objects.count() == len(mails)


def test_smtp_down_is_retried_then_delivered_once(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, settings: Any
) -> None:
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    smtp_mail.refuse = True
    results = send_queued()
    assert [r.status for r in results] == [OutboundStatus.RETRYING] * 3
    assert all(r.retry_in == settings.JEMH_NOTIFICATION_RETRY_BASE for r in results)
    row = OutboundMessage.objects.first()
    assert row.attempts == 1 and "451" in row.error and row.next_attempt_at is not None
    assert smtp_mail.received == []

    smtp_mail.refuse = False
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 3
    assert [r.status for r in send_queued()] == []
    assert send_outbound(row.pk).status == OutboundStatus.SENT  # a duplicate task: nothing sent again
    assert len(by_recipient(smtp_mail.wait_for(3))) == 3
    row.refresh_from_db()
    assert row.attempts == 2 and row.error == "" and row.sent_at is not None


def test_gives_up_after_the_last_attempt(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, settings: Any
) -> None:
    settings.JEMH_NOTIFICATION_MAX_ATTEMPTS = 2
    issue = new_issue(tracker, watchers=(), email_participants=())
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    smtp_mail.refuse = True
    assert [r.status for r in send_queued()] == [OutboundStatus.RETRYING]
    final = send_queued()
    assert [r.status for r in final] == [OutboundStatus.FAILED]
    row = OutboundMessage.objects.get()
    assert row.status == OutboundStatus.FAILED and "gave up after 2 attempts" in row.error


def test_exclusions_patterns_and_our_own_addresses(tracker: Any, mapping: NotificationMapping, smtp_mail: Any) -> None:
    mapping.fixed_recipients = "\n".join(
        [
            "help@example.com",
            "Desk-EU@example.com",
            "support+abc@example.com",  # our catch and reply addresses
            "robot@vendor.example",
            "ops@eu.partner.example",
            "keep@example.org",
            "noreply-x@example.net",
        ]
    )
    mapping.exclude_patterns = "vendor.example\n*.partner.example\nnoreply-*@*\n# a comment line"
    mapping.notify_watchers = mapping.notify_participants = mapping.notify_assignee = False
    mapping.notify_reporter = False
    mapping.full_clean()
    mapping.save()
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    send_queued()
    assert set(by_recipient(smtp_mail.wait_for(1))) == {"keep@example.org"}
    reason = IssueEvent.objects.get(issue_key=issue.key).reason
    assert "example" not in reason, "the reason holds no addresses"


def test_a_project_without_mapping_drops_the_payload_at_once(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any
) -> None:
    from trackers.models import Project

    mapping.projects = ["ABC"]
    mapping.save()
    Project.objects.create(instance=mapping.instance, key="OPS", name="Operations")
    issue = tracker.create_issue(NewIssue(project_key="OPS", summary="Secret stuff", reporter="bob"))
    event = IssueEvent.objects.get(issue_key=issue.key)
    assert event.status == EventStatus.DROPPED and event.payload is None and event.actor is None
    assert "OPS" in event.reason and event.processed_at is not None
    assert flush_now(event.instance, issue.key).events == 0
    assert OutboundMessage.objects.count() == 0


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def test_html_is_free_of_anything_unsafe_from_hostile_content(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any
) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> "quoted" & <b onmouseover=x>'
    issue = new_issue(tracker, summary=hostile, description='<iframe src="javascript:alert(3)"></iframe>')
    tracker.add_comment(
        issue.key,
        NewComment(
            author="alice",
            body=(
                '[click](javascript:alert(4)) <a href="javascript:alert(5)" onclick="x()">a</a>\n'
                "<svg onload=alert(6)></svg> <style>body{}</style> [fine](https://example.org/ok)"
            ),
        ),
    )
    instance = IssueEvent.objects.get(issue_key=issue.key, kind="created").instance
    flush_now(instance, issue.key)
    send_queued()
    message = by_recipient(smtp_mail.wait_for(3))[PARTICIPANT]
    text, html = parts(message)
    parser = _Tags()
    parser.feed(html)
    assert not {"script", "iframe", "svg", "img", "object", "embed"} & set(parser.tags)
    assert parser.tags.count("style") == 0 and "b" not in parser.tags
    assert not [n for n, _ in parser.attributes if n.startswith("on")]
    assert not [v for n, v in parser.attributes if n in {"href", "src"} and not re.match(r"https?:|mailto:", v)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the summary is shown, escaped"
    assert 'href="https://example.org/ok"' in html
    assert hostile in text, "the text part keeps the summary as it is"
    assert "\n" not in message["Subject"] and message["Subject"].startswith(f"[{issue.key}] <script>")


def test_flushing_and_sending_twice_sends_once(tracker: Any, mapping: NotificationMapping, smtp_mail: Any) -> None:
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    first = flush_now(instance, issue.key)
    assert len(first.outbound_ids) == 3 and flush_now(instance, issue.key).events == 0
    # even a lost claim (the event made pending again) cannot reach the same people twice
    IssueEvent.objects.filter(issue_key=issue.key).update(status=EventStatus.PENDING)
    again = flush_now(instance, issue.key)
    assert again.events == 1 and again.outbound_ids == []
    assert IssueEvent.objects.get(issue_key=issue.key).status == EventStatus.IGNORED
    for pk in first.outbound_ids:
        send_outbound(pk)
        send_outbound(pk)
    assert len(by_recipient(smtp_mail.wait_for(3))) == 3
    assert NotificationDelivery.objects.count() == 3


@pytest.mark.parametrize("keep", [True, False])
def test_full_message_is_stored_encrypted_unless_the_instance_opts_out(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, blob_root: Any, keep: bool
) -> None:
    mapping.instance.store_outbound_mail = keep
    mapping.instance.save()
    issue = new_issue(tracker, watchers=(), email_participants=())
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    row = OutboundMessage.objects.get()
    name = row.blob_name
    assert b"Printer on fire" not in (blob_root / name).read_bytes(), "encrypted at rest"
    send_queued()
    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT and row.subject == f"[{issue.key}] Printer on fire"
    assert row.recipients == ["alice@example.org"]
    if keep:
        assert row.blob_name == name and b"Printer on fire" in blob_storage().read_bytes(name)
    else:
        assert row.blob_name == "" and not blob_storage().exists(name)


def test_a_flushed_batch_is_sent_from_memory_once_and_retried_from_storage(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, settings: Any
) -> None:
    settings.JEMH_NOTIFICATION_RETRY_BASE = 1
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flushed = flush_now(instance, issue.key)
    assert sorted(flushed.prepared) == sorted(flushed.outbound_ids) and len(flushed.outbound_ids) == 3
    smtp_mail.refuse = True  # every message of the batch answered 451: each retried, the session reopened
    results = send_many(flushed.outbound_ids, flushed.prepared)
    assert [results[pk].status for pk in flushed.outbound_ids] == [OutboundStatus.RETRYING] * 3
    smtp_mail.refuse = False
    results = send_many(flushed.outbound_ids, flushed.prepared)
    assert [results[pk].status for pk in flushed.outbound_ids] == [OutboundStatus.SENT] * 3
    again = send_many(flushed.outbound_ids, flushed.prepared)  # a duplicate task: nothing sent twice
    assert [again[pk].status for pk in flushed.outbound_ids] == [OutboundStatus.SENT] * 3
    received = smtp_mail.wait_for(3)
    assert len(by_recipient(received)) == 3 and len(received) == 3
    for row in OutboundMessage.objects.all():  # what went out from memory is exactly what was stored
        mail = next(m for m in received if m.envelope_to == row.recipients)
        assert mail.data.replace(b"\r\n", b"\n") == blob_storage().read_bytes(row.blob_name).replace(b"\r\n", b"\n")
        assert row.attempts == 2
