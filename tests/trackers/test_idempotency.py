"""Nothing doubled: idempotent creates, crash-and-retry, and issue keys allocated safely under concurrency."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.db import connection, connections, transaction

from jemh.models import Instance
from tests.conftest import TEST_DB
from trackers import errors
from trackers.interface import AttachmentUpload, NewComment, NewIssue
from trackers.local import LocalTracker
from trackers.models import Attachment, Comment, Issue, IssueMessageId, Project

T = TypeVar("T")


def test_create_issue_twice_with_one_key_gives_one_issue(tracker: LocalTracker) -> None:
    first = tracker.create_issue(NewIssue("ABC", "From mail", message_ids=("<m1@x>",)), idempotency_key="inbound:1")
    again = tracker.create_issue(NewIssue("ABC", "Changed on retry"), idempotency_key="inbound:1")
    other = tracker.create_issue(NewIssue("ABC", "Another mail"), idempotency_key="inbound:2")
    assert again == first and other.key == "ABC-2"
    assert Issue.objects.count() == 2 and IssueMessageId.objects.count() == 1


def test_add_comment_twice_with_one_key_gives_one_comment(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "x"))
    first = tracker.add_comment(issue.key, NewComment("reply", author_email="c@x.example"), idempotency_key="in:5")
    again = tracker.add_comment(issue.key, NewComment("reply"), idempotency_key="in:5")
    assert again == first and Comment.objects.count() == 1
    tracker.add_comment(issue.key, NewComment("no key"))
    tracker.add_comment(issue.key, NewComment("no key"))
    assert Comment.objects.count() == 3  # without a key, two calls are two comments


def test_add_attachments_retried_after_a_partial_run(tracker: LocalTracker, blob_root: Any) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "x"))
    a = AttachmentUpload("a.txt", "text/plain", data=b"first file")
    b = AttachmentUpload("b.txt", "text/plain", data=b"second file")
    (stored_a,) = tracker.add_attachments(issue.key, [a], idempotency_key="inbound:9")  # then the worker died
    retried = tracker.add_attachments(issue.key, [a, b], idempotency_key="inbound:9")
    assert retried[0] == stored_a and retried[1].filename == "b.txt"
    assert tracker.add_attachments(issue.key, [b, a], idempotency_key="inbound:9") == [retried[1], stored_a]
    assert Attachment.objects.count() == 2
    assert len([p for p in blob_root.rglob("*") if p.is_file()]) == 2  # no orphan blobs


def test_a_rolled_back_attempt_leaves_nothing_and_the_retry_creates_once(
    tracker: LocalTracker,
    events: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:3")
            raise RuntimeError("worker crashed before recording the outcome")
        assert Issue.objects.count() == 0 and events == []
        retried = tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:3")
        assert tracker.create_issue(NewIssue("ABC", "x"), idempotency_key="inbound:3") == retried
    assert retried.key == "ABC-1"  # the rolled-back number was not used up
    assert [e.kind for e in events] == ["created"]


def _in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(i) in ``count`` threads released at once; each closes its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # reported below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures
    return results


def _retrying(call: Callable[[], T], deadline: float) -> T:
    """Retry on TemporaryTrackerError as the pipeline's task does (SQLite answers contention that way)."""
    while True:
        try:
            return call()
        except errors.TemporaryTrackerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_get_distinct_consecutive_keys() -> None:
    """Eight workers at once. Each passes an idempotency key, as the pipeline does: a worker whose call failed
    after the commit (SQLite's test database answers contention with "table is locked") retries safely."""
    assert connection.vendor == ("sqlite" if TEST_DB == "sqlite" else "postgresql")
    instance = Instance.objects.create(name="Busy")
    Project.objects.create(instance=instance, key="RACE", name="Race")
    workers, per_worker = 8, 5
    deadline = time.monotonic() + 60

    def work(i: int) -> list[str]:
        tracker = LocalTracker(instance)

        def create(n: int) -> str:
            return tracker.create_issue(NewIssue("RACE", f"w{i} n{n}"), idempotency_key=f"inbound:{i}-{n}").key

        return [_retrying(functools.partial(create, n), deadline) for n in range(per_worker)]

    keys = [key for batch in _in_threads(workers, work) for key in batch]
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"RACE-{n}" for n in range(1, 41)]
    assert Issue.objects.filter(project__key="RACE").count() == workers * per_worker


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_idempotency_key_give_one_issue() -> None:
    instance = Instance.objects.create(name="Redelivered")
    Project.objects.create(instance=instance, key="DUP", name="Dup")
    deadline = time.monotonic() + 60

    def work(i: int) -> str:
        tracker = LocalTracker(instance)
        issue = _retrying(
            lambda: tracker.create_issue(NewIssue("DUP", "same mail"), idempotency_key="inbound:77"), deadline
        )
        comment = _retrying(
            lambda: tracker.add_comment(issue.key, NewComment("same reply"), idempotency_key="inbound:78"), deadline
        )
        return f"{issue.key}/{comment.id}"

    results = _in_threads(6, work)
    assert len(set(results)) == 1 and results[0].startswith("DUP-1/")
    assert Issue.objects.count() == 1 and Comment.objects.count() == 1
