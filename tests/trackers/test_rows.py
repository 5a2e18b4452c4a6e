"""jemh.rows on real tables: insert_row writes a new row as save(force_insert=True) would (values prepared by their
fields: encrypted fields encrypted, auto_now and auto_now_add set; the generated primary key set on the object),
insert_row(..., skip_conflict=True) and insert_new_rows skip rows a unique constraint holds, update_rows says how
many rows it changed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from jemh.rows import insert_new_rows, insert_row, insert_row_touching, model_columns, model_from_row, update_rows
from trackers.interface import NewIssue
from trackers.local import LocalTracker
from trackers.models import Comment, Issue, IssueMessageId, MessageIdKind


def test_a_row_is_inserted_as_save_would(tracker: LocalTracker) -> None:
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Printer on fire")).key)
    first = Comment(issue=issue, instance_id=issue.instance_id, author_email="carol@customer.example", body="one")
    second = Comment(issue=issue, instance_id=issue.instance_id, body="two", idempotency_key="inbound:9")
    insert_row(first)
    insert_row(second)
    assert first.pk is not None and second.pk is not None and second.pk > first.pk
    assert not first._state.adding and first._state.db == "default"
    assert first.created_at is not None and first.updated_at is not None
    stored = Comment.objects.get(pk=first.pk)
    assert (stored.author_email, stored.body, stored.created_at) == ("carol@customer.example", "one", first.created_at)
    with connection.cursor() as cursor:  # encrypted as the field encrypts it: no plain address in the table
        cursor.execute(f"SELECT author_email FROM {Comment._meta.db_table} WHERE id = %s", [first.pk])
        assert "carol" not in cursor.fetchone()[0]
    again = Comment(issue=issue, instance_id=issue.instance_id, body="two", idempotency_key="inbound:9")
    with pytest.raises(IntegrityError), transaction.atomic():  # the constraints hold as for save()
        insert_row(again)
    assert again.pk is None and Comment.objects.filter(issue=issue).count() == 2


def test_a_row_a_unique_constraint_holds_is_skipped_in_the_statement_and_the_transaction_goes_on(
    tracker: LocalTracker,
) -> None:
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Printer on fire")).key)
    first = Comment(issue=issue, instance_id=issue.instance_id, body="one", idempotency_key="inbound:9")
    again = Comment(issue=issue, instance_id=issue.instance_id, body="one again", idempotency_key="inbound:9")
    other = Comment(issue=issue, instance_id=issue.instance_id, body="two", idempotency_key="inbound:10")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:  # no savepoint needed
        assert insert_row(first, skip_conflict=True) is True
        assert insert_row(again, skip_conflict=True) is False
        assert insert_row(other, skip_conflict=True) is True
    assert len(queries) == 3 and not any("SAVEPOINT" in q["sql"] for q in queries)
    assert first.pk is not None and other.pk is not None and again.pk is None and again._state.adding
    assert sorted(Comment.objects.filter(issue=issue).values_list("body", flat=True)) == ["one", "two"]


def test_new_rows_are_inserted_in_one_statement_and_rows_already_held_skipped(tracker: LocalTracker) -> None:
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Printer on fire")).key)

    def row(n: int) -> IssueMessageId:
        return IssueMessageId(
            instance_id=issue.instance_id,
            issue=issue,
            message_id_hash=f"{n:064x}",
            message_id=f"<{n}@mail.example>",
            kind=MessageIdKind.INBOUND,
        )

    with CaptureQueriesContext(connection) as queries:
        insert_new_rows([row(1), row(2)])
    assert len(queries) == 1
    insert_new_rows([row(2), row(3)])  # 2 is held already: skipped, 3 is added
    insert_new_rows([row(n) for n in range(10, 260)])  # more than one statement's worth
    stored = IssueMessageId.objects.filter(issue=issue, kind=MessageIdKind.INBOUND)
    assert stored.count() == 3 + 250
    assert sorted(m.message_id for m in stored if m.message_id_hash < f"{4:064x}") == [
        "<1@mail.example>",
        "<2@mail.example>",
        "<3@mail.example>",
    ]
    assert all(m.created_at is not None for m in stored)


def test_a_model_read_from_a_row_is_the_model_a_queryset_loads(tracker: LocalTracker) -> None:
    new = NewIssue("ABC", "Printer on fire", email_sender_address="carol@customer.example", labels=("printer",))
    issue = Issue.objects.get(key=tracker.create_issue(new).key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {model_columns(Issue, 'i')}, 42 FROM {Issue._meta.db_table} i WHERE i.id = %s", [issue.pk]
        )
        row = cursor.fetchone()
    read = model_from_row(Issue, row)
    assert row[-1] == 42 and "carol" not in str(row)  # the address is encrypted in the row, decrypted on the model
    assert not read._state.adding and read._state.db == "default"
    fields = [f.attname for f in Issue._meta.concrete_fields]
    assert [getattr(read, f) for f in fields] == [getattr(issue, f) for f in fields]
    assert (read.email_sender_address, read.labels) == ("carol@customer.example", ["printer"])


def test_update_rows_says_how_many_rows_it_changed(tracker: LocalTracker) -> None:
    issues = [Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", f"Issue {n}")).key) for n in range(3)]
    for issue in issues:
        issue.summary = issue.summary + " (seen)"
    assert update_rows(issues[:1], ["summary"]) == 1
    assert update_rows(issues, ["summary"]) == 3
    Issue.objects.filter(pk=issues[1].pk).delete()
    assert update_rows(issues[1:2], ["summary"]) == 0  # gone: nothing changed, and the caller can tell
    assert update_rows(issues, ["summary"]) == 2
    assert update_rows([], ["summary"]) == 0
    assert sorted(Issue.objects.values_list("summary", flat=True)) == ["Issue 0 (seen)", "Issue 2 (seen)"]


def test_a_row_inserted_touching_its_parent_is_one_statement_that_says_whether_the_parent_exists(
    tracker: LocalTracker,
) -> None:
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Printer on fire")).key)
    before = issue.updated_at
    comment = Comment(issue=issue, instance_id=issue.instance_id, author_email="carol@customer.example", body="one")
    with CaptureQueriesContext(connection) as queries:
        assert insert_row_touching(comment, issue, ["updated_at"]) is True
    assert len(queries) == 1
    assert comment.pk is not None and not comment._state.adding
    assert Comment.objects.get(pk=comment.pk).body == "one"
    stored = Issue.objects.get(pk=issue.pk).updated_at  # the parent touched (auto_now), not before the comment
    assert stored == issue.updated_at and stored > before and stored >= comment.created_at
    gone = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Deleted meanwhile")).key)
    Issue.objects.filter(pk=gone.pk).delete()
    orphan = Comment(issue=gone, instance_id=gone.instance_id, body="two")
    with pytest.raises(IntegrityError), transaction.atomic():  # the caller rolls back on False ...
        assert insert_row_touching(orphan, gone, ["updated_at"]) is False
        connection.check_constraints()  # ... and would fail at commit anyway: the foreign key is deferred
    assert Comment.objects.filter(body="two").count() == 0


@pytest.mark.django_db(transaction=True)  # outside any transaction, as a worker saves an outcome
def test_an_update_that_need_not_wait_for_the_flush_is_one_statement_and_leaves_the_session_as_it_was(
    tracker: LocalTracker,
) -> None:
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Printer on fire")).key)
    issue.summary = "Printer on fire (again)"

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return str(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")  # the suite's server runs with it off
    with CaptureQueriesContext(connection) as queries:
        assert update_rows([issue], ["summary"], wait_for_flush=False) == 1
    assert len(queries) == 1 and "set_config('synchronous_commit', 'off', true)" in queries[0]["sql"]
    assert setting() == "on"  # local to that statement's transaction
    with transaction.atomic():  # inside a caller's transaction its own setting holds: nothing is added
        with CaptureQueriesContext(connection) as queries:
            update_rows([issue], ["summary"], wait_for_flush=False)
        assert "set_config" not in queries[0]["sql"] and setting() == "on"
    two = [issue, Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "Second")).key)]
    two[1].summary = issue.summary
    assert update_rows(two, ["summary"], wait_for_flush=False) == 2 and setting() == "on"
    assert Issue.objects.filter(summary="Printer on fire (again)").count() == 2
