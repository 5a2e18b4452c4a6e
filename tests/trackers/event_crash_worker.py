"""A subprocess that changes a local issue and dies abruptly (SIGKILL) at a chosen point of the change.

    python -m tests.trackers.event_crash_worker INSTANCE_ID POINT

POINT is where it dies: ``issue-written`` (the issue row inserted, its event not yet), ``event-written`` (the
event inserted, before the commit) or ``committed`` (right after the commit, before anything the commit
triggers). Without dying it prints the new issue's key.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def _die(*args: Any, **kwargs: Any) -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(instance_id: int, point: str) -> None:
    import django

    django.setup()
    from django.db import transaction
    from django.db.models import Model

    from jemh.models import Instance
    from trackers.interface import NewIssue
    from trackers.local import LocalTracker, services
    from trackers.models import Issue
    from trackers.signals import issue_event_in_transaction

    if point == "issue-written":  # the issue's row inserted (trackers.local.services writes it with insert_row)
        insert = services.insert_row

        def insert_then_die(obj: Model, *, skip_conflict: bool = False) -> bool:
            inserted = insert(obj, skip_conflict=skip_conflict)
            if isinstance(obj, Issue):
                _die()
            return inserted

        services.insert_row = insert_then_die
    elif point == "event-written":  # connected after the notifications' receiver, so it runs after it
        issue_event_in_transaction.connect(_die, weak=False)
    tracker = LocalTracker(Instance.objects.get(pk=instance_id))
    with transaction.atomic():
        if point == "committed":
            transaction.on_commit(_die)  # the first callback: runs right after COMMIT
        issue = tracker.create_issue(
            NewIssue("ABC", "printer on fire", email_sender_address="c@customer.example"), idempotency_key="crash:1"
        )
    print(issue.key)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
