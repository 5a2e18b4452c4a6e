"""Outbound limits (issue 14): mail per issue and per instance per hour is capped; what is over waits, held, with
its time in the outbound audit, and is sent by the sweep when the hour allows: never dropped, never sent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage
from notifications.sending import send_many
from notifications.services import send_mail, send_test_mail
from notifications.tasks import send_and_reschedule, sweep
from tests.notifications.helpers import flush_now
from tests.notifications.test_sending import new_issue

STRANGERS = tuple(f"stranger{n}@elsewhere.example" for n in range(80))


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in OutboundMessage.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def an_hour_passes() -> None:
    """Move every sent mail, and every hold, an hour (and a minute) into the past."""
    shift = timedelta(hours=1, minutes=1)
    for row in OutboundMessage.objects.exclude(sent_at=None):
        OutboundMessage.objects.filter(pk=row.pk).update(sent_at=row.sent_at - shift)
    for row in OutboundMessage.objects.filter(status=OutboundStatus.HELD):
        OutboundMessage.objects.filter(pk=row.pk).update(next_attempt_at=row.next_attempt_at - shift)


def flush_and_send(instance: Any, issue_key: str) -> list[int]:
    result = flush_now(instance, issue_key)
    send_and_reschedule(result.outbound_ids, result.prepared)  # what the flush task does
    return result.outbound_ids


def held_ids() -> list[int]:
    return list(OutboundMessage.objects.filter(status=OutboundStatus.HELD).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_issue_with_many_participants_sends_its_limit_per_hour_and_the_rest_later(
    tracker: Any, mapping: Any, instance: Any, smtp_mail: Any
) -> None:
    instance.max_mail_per_issue_per_hour = 30
    instance.save()
    issue = new_issue(tracker, email_participants=STRANGERS, watchers=())
    made = flush_and_send(instance, issue.key)
    assert len(made) == 81  # the 80 participants and the assignee (the reporter made the change)
    assert len(smtp_mail.wait_for(30)) == 30 and len(smtp_mail.wait_for(31, timeout=0.5)) == 30
    assert statuses() == {"sent": 30, "held": 51}
    now = timezone.now()
    for row in OutboundMessage.objects.filter(status=OutboundStatus.HELD):
        assert row.attempts == 0 and row.claimed_at is None  # a hold spends no attempt
        assert now + timedelta(minutes=55) < row.next_attempt_at <= now + timedelta(hours=3, minutes=1)
        assert f"limit of 30 mails per hour about {issue.key}" in row.error
    assert sweep()["sends"] == 0  # not yet: the sweep leaves held mail alone until its time
    assert send_many(held_ids())  # and a send before its time holds it again, sending nothing
    assert len(smtp_mail.received) == 30 and statuses() == {"sent": 30, "held": 51}

    an_hour_passes()
    assert sweep()["sends"] >= 30  # the sweep queues those whose time has come
    send_many(held_ids())
    assert statuses() == {"sent": 60, "held": 21}
    an_hour_passes()
    send_many(held_ids())
    assert statuses() == {"sent": 81}
    received = smtp_mail.wait_for(81)
    recipients = [r for mail in received for r in mail.envelope_to]
    assert len(recipients) == 81 and len(set(recipients)) == 81  # everyone once: nothing dropped, nothing twice


@pytest.mark.django_db(transaction=True)
def test_the_instance_limit_caps_mail_over_all_its_issues(
    tracker: Any, mapping: Any, instance: Any, smtp_mail: Any
) -> None:
    instance.max_mail_per_issue_per_hour, instance.max_mail_per_hour = None, 25
    instance.save()
    for number in range(3):
        participants = tuple(f"p{number}-{n}@elsewhere.example" for n in range(15))
        issue = new_issue(tracker, summary=f"Issue {number}", email_participants=participants, watchers=())
        flush_and_send(instance, issue.key)
    counts = statuses()
    assert counts["sent"] == 25 and counts["held"] == 3 * 16 - 25
    held = OutboundMessage.objects.filter(status=OutboundStatus.HELD).first()
    assert held is not None and "the instance's limit of 25 mails per hour" in held.error
    assert len(smtp_mail.wait_for(26, timeout=1)) == 25


@pytest.mark.django_db(transaction=True)
def test_alerts_and_test_mail_are_never_held(tracker: Any, mapping: Any, instance: Any, smtp_mail: Any) -> None:
    instance.max_mail_per_hour = 1
    instance.save()
    issue = new_issue(tracker, watchers=())
    flush_and_send(instance, issue.key)
    assert statuses() == {"sent": 1, "held": 1}
    assert send_test_mail(instance, "admin@example.org").status == OutboundStatus.SENT
    alert = EmailMessage(subject="A source failed", body="text", to=["admin@example.org"])
    [sent] = send_mail(kind=OutboundKind.ALERT, instance=instance, message=alert)
    assert sent.status == OutboundStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_a_hint_over_the_limit_is_held_not_lost(instance: Any, smtp_mail: Any) -> None:
    instance.max_mail_per_hour = 2
    instance.save()
    results = []
    for n in range(3):
        hint = EmailMessage(subject="Your mail was not accepted", body="text", to=[f"sender{n}@elsewhere.example"])
        results.extend(send_mail(kind=OutboundKind.HINT, instance=instance, message=hint))
    assert [r.status for r in results] == ["sent", "sent", "held"]
    assert "held: the instance's limit of 2 mails per hour" in results[2].detail
    assert len(smtp_mail.wait_for(3, timeout=1)) == 2


@pytest.mark.django_db(transaction=True)
def test_no_limit_means_no_hold(tracker: Any, mapping: Any, instance: Any, smtp_mail: Any) -> None:
    instance.max_mail_per_issue_per_hour = instance.max_mail_per_hour = None
    instance.save()
    issue = new_issue(tracker, email_participants=STRANGERS[:60], watchers=())
    flush_and_send(instance, issue.key)
    assert statuses() == {"sent": 61}
