"""Run in a subprocess by test_sqlite_default: the local tracker's hot-path statements on SQLite, the embedded
default database (``make run`` without DATABASE_URL). Prints "ok" when every check holds.

    JEMH_VAR_DIR=DIR DJANGO_SETTINGS_MODULE=jemh.settings python -m tests.trackers.sqlite_check
"""

from __future__ import annotations


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from jemh import metrics
    from jemh.models import Instance, MetricCounter
    from jemh.rows import update_rows
    from trackers.interface import NewComment, NewIssue
    from trackers.local import LocalTracker
    from trackers.models import Issue, IssueMessageId, Project

    assert connection.vendor == "sqlite", connection.vendor
    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    users.create_user("alice", "alice@example.org", first_name="Alice")
    users.create_user("bob", "bob@example.org")
    instance = Instance.objects.create(name="Acme Support")
    Project.objects.create(instance=instance, key="ABC", name="Acme Basic Care")
    tracker = LocalTracker(instance)
    created = tracker.create_issue(
        NewIssue("ABC", "Printer on fire", reporter="alice", assignee="bob", watchers=("bob",), message_ids=("<r@x>",))
    )
    tracker.add_comment(created.key, NewComment(body="more", author_email="c@customer.example", message_ids=("<c@x>",)))
    tracker.record_message_ids(created.key, ["<r@x>", "<n@x>"])  # <r@x> is held already: skipped
    found = LocalTracker(instance).find_issue_by_message_ids(["<unknown@x>", "<c@x>"])
    assert found is not None and found.key == created.key and found.comment_count == 1, found
    assert (found.reporter, found.assignee, found.watchers) == (created.reporter, created.assignee, created.watchers)
    assert IssueMessageId.objects.count() == 3
    issue = Issue.objects.get(key=created.key)
    issue.summary = "Printer on fire (again)"
    assert update_rows([issue], ["summary"], wait_for_flush=False) == 1
    metrics.count("jemh_check", 2)
    metrics.flush()
    metrics.count("jemh_check", 3)
    metrics.flush()
    assert MetricCounter.objects.get(name="jemh_check").value == 5
    print("ok")


if __name__ == "__main__":
    main()
