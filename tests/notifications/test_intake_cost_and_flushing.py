"""What keeps the outbound path cheap without weakening it: the intake's per-process mapping snapshot (and how soon a
change is seen), one INSERT per event, debounced wake-ups, flushes of many issues at once, and messages built once
per rendered mail."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jemh import process_cache
from jemh.models import Instance
from notifications import mapping_cache, tasks
from notifications.batching import flush_due
from notifications.choices import EventStatus, OutboundStatus
from notifications.intake import InvalidEvent, record_event
from notifications.messages import MessageFactory, build_message
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from notifications.rendering import RenderedMail
from notifications.sending import send_many
from tests.notifications.helpers import by_recipient
from trackers.interface import NewIssue


def later(seconds: float = 3600) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture()
def wakeups(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The flush_due wake-ups queued (by ETA), instead of putting them on the broker."""
    queued: list[Any] = []
    monkeypatch.setattr(tasks, "_next_wakeup", 0.0)
    monkeypatch.setattr(tasks.flush_due_events, "apply_async", lambda *a, **k: queued.append(k.get("eta")))
    return queued


def test_an_event_nobody_wants_costs_one_insert(instance: Instance) -> None:
    record_event(instance_id=instance.pk, kind="created", issue_key="ABC-1")  # loads the snapshot
    with CaptureQueriesContext(connection) as queries:
        event = record_event(
            instance_id=instance.pk,
            kind="commented",
            issue_key="ABC-1",
            payload={"comment": {"body": "secret"}},
            actor={"email": "x@example.org"},
        )
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    event.refresh_from_db()
    assert event.status == EventStatus.DROPPED and event.payload is None and event.actor is None
    assert event.expires_at - event.received_at == timedelta(days=instance.event_retention_days)


def test_a_wanted_event_without_window_costs_one_insert_and_wakes_a_flush(
    mapping: NotificationMapping, wakeups: list[Any]
) -> None:
    record_event(instance_id=mapping.instance.pk, kind="created", issue_key="ABC-1")
    with CaptureQueriesContext(connection) as queries:
        for n in range(20):
            record_event(
                instance_id=mapping.instance.pk,
                kind="commented",
                issue_key=f"ABC-{n % 3 + 1}",
                payload={"comment": {"body": f"c{n}"}},
            )
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"] * 20
    assert IssueEvent.objects.filter(status=EventStatus.PENDING).count() == 21
    assert len(wakeups) == 1, "one wake-up covers every event recorded before it is due"


def test_a_broker_outage_does_not_undo_or_fail_the_change_that_emitted_the_event(
    mapping: NotificationMapping,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OSError("Connection refused")

    monkeypatch.setattr(tasks, "_next_wakeup", 0.0)
    monkeypatch.setattr(tasks.flush_due_events, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):  # on commit (at once when there is no transaction)
        event = record_event(
            instance_id=mapping.instance.pk, kind="commented", issue_key="ABC-1", payload={"comment": {"body": "hello"}}
        )
    assert "Error calling request_flush in on_commit() (Connection refused)" in caplog.text
    event.refresh_from_db()
    assert event.status == EventStatus.PENDING  # recorded; the sweeper flushes it once the broker is back


def test_wakeups_are_debounced_but_never_missing(monkeypatch: pytest.MonkeyPatch, wakeups: list[Any]) -> None:
    clock = [1000.0]
    monkeypatch.setattr(tasks.time, "time", lambda: clock[0])
    tasks.request_flush()
    tasks.request_flush()
    assert len(wakeups) == 1 and wakeups[0].timestamp() == pytest.approx(1000 + tasks.WAKEUP_DELAY)
    clock[0] += tasks.WAKEUP_DELAY - tasks.WAKEUP_MARGIN / 2  # the queued one may be running: it does not count
    tasks.request_flush()
    assert len(wakeups) == 2 and wakeups[1].timestamp() > clock[0]


def test_a_mapping_added_here_takes_effect_at_once(instance: Instance, project: Any) -> None:
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-1").status == EventStatus.DROPPED
    mapping = NotificationMapping.objects.create(instance=instance, name="New", batch_window_seconds=0)
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-2").status == EventStatus.PENDING
    mapping.enabled = False
    mapping.save()
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-3").status == EventStatus.DROPPED


def test_a_change_made_elsewhere_is_seen_within_the_cache_lifetime(
    instance: Instance, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's change (or an UPDATE that sends no signal) reaches no receiver here: the snapshot's age
    bounds how long it goes unseen."""
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-1").status == EventStatus.DROPPED
    NotificationMapping.objects.bulk_create([NotificationMapping(instance=instance, name="Elsewhere")])  # no signal
    clock = [process_cache.time.monotonic()]
    monkeypatch.setattr(process_cache.time, "monotonic", lambda: clock[0])
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-2").status == EventStatus.DROPPED
    clock[0] += mapping_cache.CACHE_SECONDS
    assert record_event(instance_id=instance.pk, kind="created", issue_key="ABC-3").status == EventStatus.PENDING
    assert mapping_cache.CACHE_SECONDS <= 2, "an admin's change must take effect promptly everywhere"


def test_an_unknown_instance_is_a_clear_error(transactional_db: None) -> None:
    with pytest.raises(InvalidEvent, match="no instance"):
        record_event(instance_id=987654, kind="created", issue_key="ABC-1")


def test_flush_due_takes_whole_issues_a_chunk_at_a_time(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, wakeups: list[Any]
) -> None:
    keys = [
        tracker.create_issue(NewIssue(project_key="ABC", summary=f"Issue {n}", reporter="bob", assignee="alice")).key
        for n in range(3)
    ]
    for key in keys:  # a second event per issue: merged with the first into one mail per recipient
        record_event(
            instance_id=mapping.instance.pk,
            kind="updated",
            issue_key=key,
            payload={"changes": [{"field": "priority", "old": "Low", "new": "High"}]},
        )
    woken: list[int] = []
    first = flush_due(now=later(), limit=2, on_more=lambda: woken.append(1))
    assert first.more and woken == [1] and first.events == 4, "the issues of the two longest-waiting events"
    second = flush_due(now=later(), limit=2)
    assert not second.more and second.events == 2
    assert flush_due(now=later()).events == 0
    assert set(IssueEvent.objects.values_list("status", flat=True)) == {EventStatus.NOTIFIED}
    outbound = first.outbound_ids + second.outbound_ids
    assert len(outbound) == 6  # three issues, reporter and assignee each
    results = send_many(outbound, {**first.prepared, **second.prepared})
    assert {r.status for r in results.values()} == {OutboundStatus.SENT}
    received = smtp_mail.wait_for(6)
    assert all(m.message.get_body(("plain",)).get_content().count("High") >= 1 for m in received)
    assert OutboundMessage.objects.filter(status=OutboundStatus.SENT, sent_at__isnull=False).count() == 6


def test_a_broken_mapping_fails_only_its_own_issues_in_a_shared_flush(
    tracker: Any, mapping: NotificationMapping, wakeups: list[Any]
) -> None:
    other = Instance.objects.create(name="Other")
    NotificationMapping.objects.create(instance=other, name="Broken", text_template="{% if %}")
    good = tracker.create_issue(NewIssue(project_key="ABC", summary="fine", reporter="bob", assignee="alice"))
    record_event(
        instance_id=other.pk,
        kind="created",
        issue_key="XYZ-1",
        payload={"issue": {"summary": "gone", "reporter": {"email": "r@example.net"}}},
    )
    result = flush_due(now=later())
    assert result.events == 2 and len(result.outbound_ids) == 1
    assert IssueEvent.objects.get(issue_key=good.key).status == EventStatus.NOTIFIED
    broken = IssueEvent.objects.get(issue_key="XYZ-1")
    assert broken.status == EventStatus.FAILED and "TemplateSyntaxError" in broken.reason


def test_the_factory_builds_what_build_message_builds(settings: Any) -> None:
    settings.JEMH_MESSAGE_ID_DOMAIN = "notify.example.com"
    rendered = RenderedMail("[ABC-1] Grüße über alles", "text body\n", "<p>html body</p>")
    args: dict[str, Any] = {
        "instance_id": 7,
        "issue_key": "ABC-1",
        "rendered": rendered,
        "from_address": "Desk <desk@example.com>",
        "reply_address": "support@example.com",
    }
    factory = MessageFactory(**args)
    factory.build("first@example.org", "<a@notify.example.com>")
    previous = [f"<jemh.7.ABC-1.{n}@notify.example.com>" for n in range(12)]
    fast = message_from_bytes(
        factory.build("second@example.org", "<b@notify.example.com>", previous), policy=policy.default
    )
    plain = message_from_bytes(
        build_message(
            recipient="second@example.org", message_id="<b@notify.example.com>", previous_ids=previous, **args
        )
        .message()
        .as_bytes(),
        policy=policy.default,
    )
    assert factory.sender == "desk@example.com"
    names = {k for k in plain if k not in {"Date", "Content-Type"}}
    assert names == {k for k in fast if k not in {"Date", "Content-Type"}}
    for name in names:
        assert str(fast[name]) == str(plain[name]), name
    assert fast["To"] == "second@example.org" and "t-7.abc-1." in fast["Reply-To"]
    assert fast["References"].split()[-1] == previous[-1] and fast["Subject"] == "[ABC-1] Grüße über alles"
    assert fast.get_body(("plain",)).get_content() == plain.get_body(("plain",)).get_content()
    assert fast.get_body(("html",)).get_content() == plain.get_body(("html",)).get_content()


def test_merged_recipients_get_their_own_headers_through_the_whole_path(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, wakeups: list[Any]
) -> None:
    issue = tracker.create_issue(
        NewIssue(
            project_key="ABC",
            summary="Shared body",
            reporter="bob",
            assignee="alice",
            email_participants=("dave@customer.example", "erin@customer.example"),
        )
    )
    result = flush_due(now=later())
    send_many(result.outbound_ids, result.prepared)
    mails = by_recipient(smtp_mail.wait_for(3))
    assert set(mails) == {"alice@example.org", "dave@customer.example", "erin@customer.example"}
    ids = {m["Message-ID"] for m in mails.values()}
    assert len(ids) == 3 and all(issue.key in i for i in ids)
    for address, message in mails.items():
        assert message["To"] == address
        assert OutboundMessage.objects.get(message_id=message["Message-ID"]).recipients == [address]


def test_a_flush_locks_no_event_it_leaves_to_others(mapping: NotificationMapping, wakeups: list[Any]) -> None:
    """A row locked but not claimed would be skipped by every flush running meanwhile and, once they end, wait for
    the sweeper. Row locks exist on PostgreSQL only (SQLite serialises whole transactions instead)."""
    import threading as threads

    from django.db import connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite has none to leak")
    for key in ("ABC-1", "ABC-2", "ABC-3"):
        record_event(instance_id=mapping.instance.pk, kind="deleted", issue_key=key)
    seen: list[set[str]] = []

    def free_rows() -> None:
        try:
            with transaction.atomic():
                rows = IssueEvent.objects.select_for_update(skip_locked=True).filter(status=EventStatus.PENDING)
                seen.append(set(rows.values_list("issue_key", flat=True)))
        finally:
            connections.close_all()

    def look_from_elsewhere() -> None:
        other = threads.Thread(target=free_rows)
        other.start()
        other.join(10)

    result = flush_due(now=later(), limit=1, on_more=look_from_elsewhere)
    assert result.more and result.events == 1
    assert seen == [{"ABC-2", "ABC-3"}], "only the claimed issue's row is locked while the flush runs"
