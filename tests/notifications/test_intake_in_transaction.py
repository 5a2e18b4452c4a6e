"""The intake inside the transaction of the change that made the event (local tracker events are recorded there)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import intake, tasks
from notifications.models import IssueEvent, NotificationMapping


def test_an_event_joining_a_batch_whose_flush_ran_before_it_committed_asks_for_a_flush(
    instance: Any, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded inside a longer transaction, a joining event can commit after its batch was flushed: it must not wait
    for the sweeper."""
    NotificationMapping.objects.create(instance=instance, name="Batched", batch_window_seconds=60)
    requested: list[int] = []
    monkeypatch.setattr(tasks, "request_flush", lambda: requested.append(1))
    monkeypatch.setattr(tasks, "schedule_flush", lambda *args: None)
    first = intake.record_event(instance_id=instance.pk, kind="created", issue_key="ABC-1")
    with transaction.atomic():
        joined = intake.record_event(instance_id=instance.pk, kind="commented", issue_key="ABC-1")
        assert joined.due_at == first.due_at
        assert requested == []
    assert requested == [], "committed in time: the batch's own flush takes it"
    now = timezone.now()
    with transaction.atomic():
        late = intake.record_event(instance_id=instance.pk, kind="updated", issue_key="ABC-1")
        monkeypatch.setattr(intake.timezone, "now", lambda: now + timedelta(seconds=61))  # the flush ran meanwhile
    assert late.due_at == first.due_at and requested == [1]
    assert IssueEvent.objects.filter(issue_key="ABC-1").count() == 3
