"""Health and back-off: the server's own words, retry every 5 then 30 minutes, disable after a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from inbound import health
from inbound.models import Source, SourceKind
from inbound.retrieval import poll
from tests.inbound.conftest import Mailbox, make_message
from tests.services.base import free_port

pytestmark = pytest.mark.django_db


def test_wrong_password_shows_in_health_with_back_off(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    source = make_source(password="wrong")
    before = timezone.now()
    result = poll(source)
    source.refresh_from_db()
    assert result.status == "failed"
    assert "login failed" in source.last_error and "Authentication failed" in source.last_error
    assert source.consecutive_failures == 1 and source.failing_since >= before
    assert timedelta(minutes=4) < source.next_poll_at - before <= timedelta(minutes=5, seconds=5)
    skipped = poll(source)  # the next scheduled run comes too early: backing off
    assert skipped.status == "skipped" and "backing off" in skipped.detail
    source.refresh_from_db()
    assert source.consecutive_failures == 1
    source.password = mailbox.password
    source.save()
    mailbox.append(make_message())
    recovered = poll(source, force=True)
    source.refresh_from_db()
    assert recovered.captured == 1
    assert (source.consecutive_failures, source.failing_since, source.next_poll_at) == (0, None, None)
    assert source.last_success_at and "Authentication failed" in source.last_error  # history kept


def test_server_down_shows_in_health(make_source: Callable[..., Source]) -> None:
    source = make_source(port=free_port())  # nothing listens there
    result = poll(source)
    source.refresh_from_db()
    assert result.status == "failed" and "cannot connect" in source.last_error
    assert "refused" in source.last_error.lower()


def test_back_off_schedule_and_disabling_after_a_day(instance: Any, mailoutbox: list[Any]) -> None:
    admin = get_user_model().objects.create_user("ops", "ops@example.test", "x")
    instance.admins.add(admin)
    source = Source.objects.create(
        instance=instance, name="flaky", kind=SourceKind.MAILDIR, maildir_path="/nonexistent"
    )
    start = timezone.now()
    health.record_failure(source, "connection refused", now=start)
    assert source.next_poll_at == start + timedelta(minutes=5)
    later = start + timedelta(minutes=59)
    health.record_failure(source, "connection refused", now=later)
    assert source.next_poll_at == later + timedelta(minutes=5)
    later = start + timedelta(hours=2)
    health.record_failure(source, "connection refused", now=later)
    assert source.next_poll_at == later + timedelta(minutes=30)
    assert source.enabled and mailoutbox == []
    health.record_failure(source, "[AUTHENTICATIONFAILED] Authentication failed.", now=start + timedelta(hours=25))
    source.refresh_from_db()
    assert not source.enabled and "over a day" in source.disabled_reason
    assert source.consecutive_failures == 4
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ops@example.test"]
    assert "flaky" in mailoutbox[0].subject and "Authentication failed" in mailoutbox[0].body
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(name=f"inbound.poll_source:{source.pk}").enabled is False
    assert poll(source).status == "skipped"
    health.reset(source)
    source.refresh_from_db()
    assert source.consecutive_failures == 0 and source.disabled_reason == ""


def test_due_and_next_poll(instance: Any) -> None:
    source = Source.objects.create(instance=instance, name="d", kind=SourceKind.MAILDIR, maildir_path="/x")
    now = timezone.now()
    assert health.is_due(source, now) and health.next_poll(source) is None
    health.record_success(source, now=now)
    assert health.next_poll(source) == now + timedelta(seconds=60)
