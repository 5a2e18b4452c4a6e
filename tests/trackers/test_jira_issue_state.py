"""The Jira backend's issue-state cache (issue 13, performance): the issue a reply belongs to is read from the
database every worker shares, so a comment costs one Jira call; our own writes, a 404, the TTL and erasure keep it
from ever serving what we know to be stale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.utils import timezone as django_timezone

from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.test_jira_contract import jira_instance
from trackers import errors
from trackers.interface import AttachmentUpload, IssueUpdate, NewComment, NewIssue, TrackerIssue, TrackerUser
from trackers.jira import tracker_for
from trackers.jira.fields import EMAIL_PARTICIPANTS
from trackers.jira.issue_state import IssueStates, forget_issue, issue_from_json, issue_to_json, purge_expired
from trackers.jira.tracker import JiraTracker
from trackers.models import JiraIssueState

CUSTOMER = "carol@customer.example"


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with running(request.param) as fake:
        lead = fake.state.add_user("lena", "lena@example.org", "Lena Lead")
        fake.state.add_user("walt", "walt@example.org", "Walt Watcher")
        fake.state.add_project("ABC", "Acme", lead.account_id)
        yield fake


@pytest.fixture()
def tracker(db: None, fake: FakeJira) -> JiraTracker:
    return tracker_for(jira_instance(fake))


def another_process(tracker: JiraTracker) -> JiraTracker:
    """A tracker object as another worker process has it: nothing in common but the database."""
    return JiraTracker(tracker.instance, tracker.client)


def request(tracker: JiraTracker, **overrides: Any) -> TrackerIssue:
    new = NewIssue("ABC", "Printer on fire", "It *burns*.", email_sender_address=CUSTOMER, **overrides)
    return tracker.create_issue(new)


def calls(fake: FakeJira) -> int:
    return sum(fake.calls.values())


# -- serialising ----------------------------------------------------------------------------------------------------


def test_an_issue_survives_the_round_trip_through_json_unchanged() -> None:
    lena = TrackerUser("5b10a2844c20165700ede21g", "lena@example.org", "Lena Lead")
    gone = TrackerUser("gone", "", "Gone Person", active=False)
    plus_two = timezone(timedelta(hours=2))
    issue = TrackerIssue(
        key="ABC-7",
        project_key="ABC",
        summary="Printer on fire",
        description="It *burns*.\n\n- really",
        issue_type="Bug",
        priority="High",
        status="Resolved",
        resolution="Won't Do",
        resolved_at=datetime(2026, 3, 4, 5, 6, 7, 8000, tzinfo=plus_two),
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated_at=datetime(2026, 3, 4, 5, 6, 7, 8000, tzinfo=plus_two),
        reporter=lena,
        assignee=gone,
        labels=("printer", "fire"),
        watchers=(lena, gone),
        email_sender_address=CUSTOMER,
        email_sender_name="Carol Customer",
        email_participants=("a@customer.example", "b@customer.example"),
        custom_fields={"Ticket": "EXT-1", "Score": 3.5, "Teams": ["red", "blue"], "Nested": {"a": [1, None]}},
        comment_count=4,
    )
    back = issue_from_json(json.loads(json.dumps(issue_to_json(issue))))
    assert back == issue
    assert back.resolved_at is not None and back.resolved_at.utcoffset() == timedelta(hours=2)
    bare = TrackerIssue(
        "ABC-8", "ABC", "s", "", "Task", "Medium", "Open", "", None, issue.created_at, issue.created_at,
        None, None, (), (), "", "", (),
    )  # fmt: skip
    assert issue_from_json(json.loads(json.dumps(issue_to_json(bare)))) == bare


def test_the_kept_state_is_encrypted_and_read_back_whole(tracker: JiraTracker, fake: FakeJira) -> None:
    from django.db import connection

    created = request(tracker, email_participants=("p@customer.example",))
    (row,) = JiraIssueState.objects.filter(instance=tracker.instance)
    assert row.issue_key == created.key and row.state is not None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT state, attachments FROM {JiraIssueState._meta.db_table}")
        stored = " ".join(str(v) for v in cursor.fetchone())
    assert "customer.example" not in stored and created.key not in stored  # nothing readable at rest
    fake.calls.clear()
    assert another_process(tracker).get_issue(created.key) == created
    assert calls(fake) == 0


# -- what a reply costs ---------------------------------------------------------------------------------------------


def test_a_reply_comments_with_one_call_in_another_process(tracker: JiraTracker, fake: FakeJira) -> None:
    """The target: 1 Jira call per comment once caches are warm (the issue read is the other process's)."""
    request(tracker)  # warms the site caches (project, fields, priorities)
    fake.calls.clear()
    created = request(tracker)
    assert calls(fake) == 2, fake.calls  # create + the read that is kept
    fake.calls.clear()
    worker = another_process(tracker)
    issue = worker.find_issue(created.key)  # association
    assert issue is not None and issue.comment_count == 0
    comment = worker.add_comment(issue.key, NewComment("Still burning", author_email=CUSTOMER, source_message_id=9))
    assert dict(fake.calls) == {"addComment": 1}
    third = another_process(tracker).get_issue(created.key)  # the next reply's association: no call, and it
    assert third.comment_count == 1 and third.updated_at >= comment.created_at  # counts our comment
    assert dict(fake.calls) == {"addComment": 1}


def test_a_reply_with_attachments_costs_one_more_call(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker)
    worker = another_process(tracker)
    worker.add_attachments(created.key, [AttachmentUpload("first.txt", "text/plain", data=b"first")])
    fake.calls.clear()
    reply = another_process(tracker)
    assert reply.find_issue(created.key) is not None
    assert len(reply.attachment_hashes(created.key)) == 1  # the kept list has the other process's upload
    comment = reply.add_comment(created.key, NewComment("log attached", author_email=CUSTOMER))
    reply.add_attachments(
        created.key, [AttachmentUpload("log.txt", "text/plain", data=b"smoke")], comment_id=comment.id
    )
    assert dict(fake.calls) == {"addComment": 1, "addAttachment": 1}
    names = {a.filename for a in another_process(tracker).list_attachments(created.key)}
    assert names == {"first.txt", "log.txt"} and dict(fake.calls) == {"addComment": 1, "addAttachment": 1}


# -- never stale because of what we know ----------------------------------------------------------------------------


def test_our_own_transition_and_update_are_seen_by_the_next_read(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker)
    walt = fake.state.user_by_name("walt")
    assert walt is not None
    another_process(tracker).transition_issue(created.key, "In Progress")
    another_process(tracker).update_issue(
        created.key, IssueUpdate(priority="High", add_labels=("printer",), add_watchers=(walt.account_id,))
    )
    another_process(tracker).update_custom_fields(created.key, {EMAIL_PARTICIPANTS: None})
    fake.calls.clear()
    seen = another_process(tracker).get_issue(created.key)
    assert (seen.status, seen.priority, seen.labels) == ("In Progress", "High", ("printer",))
    assert [w.account_id for w in seen.watchers] == [walt.account_id]
    assert calls(fake) == 0  # each write read the issue again and kept that


def test_participants_are_merged_with_jira_as_it_is_now_not_as_kept(tracker: JiraTracker, fake: FakeJira) -> None:
    """An agent removed a participant in Jira (no webhook): adding another must not bring the removed one back."""
    created = request(tracker, email_participants=("stranger@else.example",))
    field = fake.state.field_by_name(EMAIL_PARTICIPANTS)
    assert field is not None
    jira_issue = fake.state.issue(created.key)
    assert jira_issue is not None
    jira_issue.fields[field.id] = None  # removed in Jira's UI
    merged = another_process(tracker).add_participants(created.key, ["colleague@customer.example"])
    assert merged == ("colleague@customer.example",)
    assert another_process(tracker).get_participants(created.key) == ("colleague@customer.example",)


def test_a_webhook_for_the_issue_makes_the_next_read_ask_jira(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker, email_participants=("stranger@else.example",))
    field = fake.state.field_by_name(EMAIL_PARTICIPANTS)
    jira_issue = fake.state.issue(created.key)
    assert field is not None and jira_issue is not None
    jira_issue.fields[field.id] = None  # an agent removes the participant in Jira ...
    assert another_process(tracker).get_participants(created.key) == ("stranger@else.example",)  # (kept)
    forget_issue(tracker.instance.pk, created.key.lower())  # ... and Jira's webhook about it arrives
    fake.calls.clear()
    assert another_process(tracker).get_participants(created.key) == ()
    assert fake.count("getIssue") == 1


def test_a_read_that_started_before_a_change_does_not_keep_what_it_saw(tracker: JiraTracker) -> None:
    created = request(tracker)
    states = IssueStates(tracker.instance.pk, tracker.client.base_url)
    before = states.look([created.key])[created.key]  # a read notes the version, then asks Jira ...
    forget_issue(tracker.instance.pk, created.key)  # ... a webhook arrives meanwhile ...
    states.store(created.key, created, None, before.version)  # ... and the read's answer comes back
    assert states.look([created.key])[created.key].cached is None
    never_kept = "ABC-404"
    before = states.look([never_kept])[never_kept]  # the same for an issue nobody had kept yet
    assert before.version is None
    forget_issue(tracker.instance.pk, never_kept)
    states.store(never_kept, created, None, before.version)
    assert states.look([never_kept])[never_kept].cached is None


def test_a_kept_issue_deleted_in_jira_is_forgotten_on_the_404(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker)
    fake.state.delete_issue(created.key)  # deleted in Jira, no webhook
    worker = another_process(tracker)
    assert worker.find_issue(created.key) is not None  # kept (within the TTL)
    with pytest.raises(errors.IssueNotFound):
        worker.add_comment(created.key, NewComment("late reply", author_email=CUSTOMER))
    assert another_process(tracker).find_issue(created.key) is None


def test_an_entry_older_than_the_ttl_is_read_again(tracker: JiraTracker, fake: FakeJira, settings: Any) -> None:
    created = request(tracker)
    fake.calls.clear()
    assert another_process(tracker).find_issue(created.key) is not None
    assert calls(fake) == 0
    JiraIssueState.objects.update(fetched_at=django_timezone.now() - timedelta(seconds=301))
    assert another_process(tracker).find_issue(created.key) is not None
    assert fake.count("getIssue") == 1
    assert another_process(tracker).find_issue(created.key) is not None  # kept again
    assert fake.count("getIssue") == 1
    settings.JEMH_JIRA_ISSUE_STATE_SECONDS = 0  # off: every read asks Jira
    assert another_process(tracker).find_issue(created.key) is not None
    assert fake.count("getIssue") == 2


def test_an_entry_of_another_site_is_not_served(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker)
    IssueStates(tracker.instance.pk, "https://elsewhere.atlassian.net").store(
        created.key, created, None, JiraIssueState.objects.get().version
    )
    fake.calls.clear()
    assert another_process(tracker).find_issue(created.key) == created
    assert fake.count("getIssue") == 1  # the instance now points at another site: read again


def test_several_issues_are_found_with_one_query_and_reads_only_for_misses(
    tracker: JiraTracker, fake: FakeJira
) -> None:
    kept = request(tracker)
    other = request(tracker)
    forget_issue(tracker.instance.pk, other.key)
    fake.calls.clear()
    found = another_process(tracker).find_issues([kept.key, other.key.lower(), "ABC-999"])
    assert set(found) == {kept.key, other.key.lower()}
    assert fake.count("getIssue") == 2  # the forgotten one and the missing one


# -- erasure and retention ------------------------------------------------------------------------------------------


def test_erasing_an_address_leaves_no_kept_state(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker, email_participants=("p@customer.example",))
    unrelated = tracker.create_issue(NewIssue("ABC", "Other", email_sender_address="other@else.example"))
    assert JiraIssueState.objects.filter(instance=tracker.instance).count() == 2
    erased = another_process(tracker).erase_subject(CUSTOMER, issue_keys=[created.key])
    assert erased.reporter_fields_cleared == 1
    assert not JiraIssueState.objects.filter(instance=tracker.instance).exists()
    assert another_process(tracker).get_issue(created.key).email_sender_address == ""
    assert another_process(tracker).get_issue(unrelated.key).email_sender_address == "other@else.example"


def test_finding_a_subject_reads_jira_not_the_kept_state(tracker: JiraTracker, fake: FakeJira) -> None:
    created = request(tracker)
    field = fake.state.field_by_name(EMAIL_PARTICIPANTS)
    jira_issue = fake.state.issue(created.key)
    assert field is not None and jira_issue is not None
    jira_issue.fields[field.id] = tracker._render_lines(["late@customer.example"])  # added in Jira, no webhook
    held = another_process(tracker).find_subject("late@customer.example", issue_keys=[created.key])
    assert [i.key for i in held.participating] == [created.key]


def test_deleting_the_instance_deletes_its_kept_states(tracker: JiraTracker) -> None:
    request(tracker)
    assert JiraIssueState.objects.exists()
    tracker.instance.delete()
    assert not JiraIssueState.objects.exists()


def test_the_purge_deletes_entries_past_the_ttl_and_keeps_fresh_ones(tracker: JiraTracker) -> None:
    old, fresh = request(tracker), request(tracker)
    long_ago = django_timezone.now() - timedelta(hours=2)
    JiraIssueState.objects.filter(issue_key=old.key).update(changed_at=long_ago, fetched_at=long_ago)
    assert purge_expired(dry_run=True) == 1
    assert purge_expired(batch=1) == 1
    assert list(JiraIssueState.objects.values_list("issue_key", flat=True)) == [fresh.key]
