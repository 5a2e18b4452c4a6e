"""Processing captured mail in groups: one claim, shared look-ups, one write of the outcomes; still idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline import service
from inbound.pipeline.service import claim_many, process_inbound_group
from inbound.pipeline.testcases import record_test_message
from jemh.models import Instance
from profiles.models import Profile
from tests.pipeline.conftest import mail
from trackers.models import Attachment, Issue


def record(instance: Instance, *raws: bytes) -> list[int]:
    return [record_test_message(instance.pk, raw).pk for raw in raws]


def test_a_group_gives_every_message_its_own_outcome(instance: Instance, profile: Profile) -> None:
    ids = record(
        instance,
        mail(subject="First", sender="ann@customer.example"),
        mail(subject="Not for us", to="someone@elsewhere.example"),
        mail(
            subject="With a file",
            sender="bob@customer.example",
            attachments=[("log.txt", "text/plain", b"line 1\nline 2\n")],
        ),
        mail(subject="Second", sender="ann@customer.example"),
    )
    outcomes = process_inbound_group(ids, profile_id=profile.pk)
    assert outcomes == {ids[0]: "created", ids[1]: "filtered", ids[2]: "created", ids[3]: "created"}
    rows = {m.pk: m for m in InboundMessage.objects.filter(pk__in=ids)}
    assert all(rows[pk].status == InboundStatus.PROCESSED and rows[pk].processed_at for pk in ids)
    assert [rows[pk].outcome for pk in ids] == ["created", "filtered", "created", "created"]
    assert rows[ids[1]].report["steps"][0]["step"] == "catch_address"
    assert Issue.objects.count() == 3
    attachment = Attachment.objects.get()
    assert attachment.issue.summary == "With a file" and attachment.filename == "log.txt"


def test_the_flood_limit_counts_earlier_messages_of_the_same_group(instance: Instance, profile: Profile) -> None:
    profile.flood_limit_per_hour = 2
    profile.save()
    earlier = record(instance, mail(subject="Yesterday's", sender="ann@customer.example"))
    assert process_inbound_group(earlier, profile_id=profile.pk) == {earlier[0]: "created"}
    ids = record(
        instance,
        *[mail(subject=f"Chatty {n}", sender="ann@customer.example") for n in range(3)],
        mail(subject="Someone else", sender="bob@customer.example"),
    )
    outcomes = process_inbound_group(ids, profile_id=profile.pk)
    # ann: one earlier message outside the group, then one inside it reaches the limit of 2
    assert [outcomes[pk] for pk in ids] == ["created", "filtered", "filtered", "created"]
    held = InboundMessage.objects.get(pk=ids[2])
    assert "flood: 3 messages from this sender in the last hour (limit 2)" in held.report["reason"]


def test_messages_claimed_by_another_worker_are_left_to_it(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail(subject="One"), mail(subject="Two"))
    assert [m.pk for m in claim_many(ids[:1])] == ids[:1]  # another worker holds a fresh claim on the first
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[1]: "created"}
    assert claim_many(ids) == []  # one is being processed elsewhere, the other is finished
    InboundMessage.objects.filter(pk=ids[0]).update(updated_at=timezone.now() - timedelta(minutes=11))
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[0]: "created"}  # that worker died
    assert Issue.objects.count() == 2


def test_a_crash_before_the_outcomes_are_written_creates_nothing_twice(
    instance: Instance, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = record(instance, mail(subject="One", attachments=[("a.txt", "text/plain", b"a")]), mail(subject="Two"))

    def crash(messages: list[Any]) -> None:
        if messages:
            raise KeyboardInterrupt("the worker was killed")

    monkeypatch.setattr(service, "_save_finished", crash)
    with pytest.raises(KeyboardInterrupt):
        process_inbound_group(ids, profile_id=profile.pk)
    monkeypatch.undo()
    assert Issue.objects.count() == 2  # the tracker work was done, the outcomes were not recorded
    assert set(InboundMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"processing"}
    InboundMessage.objects.filter(pk__in=ids).update(updated_at=timezone.now() - timedelta(minutes=11))
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[0]: "created", ids[1]: "created"}
    assert Issue.objects.count() == 2 and Attachment.objects.count() == 1
    keys = [InboundMessage.objects.get(pk=pk).report["steps"][-1]["details"]["issue"] for pk in ids]
    assert sorted(keys) == sorted(Issue.objects.values_list("key", flat=True))


def test_an_instance_whose_tracker_is_unavailable_gets_an_error_outcome(instance: Instance, profile: Profile) -> None:
    from jemh.models import TrackerKind

    ids = record(instance, mail(subject="One"), mail(subject="Two"))
    Instance.objects.filter(pk=instance.pk).update(tracker_kind=TrackerKind.JIRA)
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[0]: "error", ids[1]: "error"}
    report = InboundMessage.objects.get(pk=ids[0]).report
    assert "Jira backend is not available" in report["error"]
