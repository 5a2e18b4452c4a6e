"""Claims that follow their worker, threads in order, time budgets, and the backlog the sweep drains."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus, WorkerHeartbeat
from inbound.pipeline import service, tasks
from inbound.pipeline.backlog import backlog, oldest_waiting
from inbound.pipeline.service import OVERRAN, RELEASED, WAITING, claim_many, process_inbound_group
from inbound.pipeline.testcases import record_test_message
from inbound.pipeline.thread_order import wake_waiting
from jemh.models import Instance
from profiles.models import Profile
from tests.pipeline.conftest import mail
from trackers.models import Comment, Issue


def record(instance: Instance, *raws: bytes) -> list[int]:
    return [record_test_message(instance.pk, raw).pk for raw in raws]


def held_by(ids: list[int], worker: str, beat_ago: float | None, claimed_ago: float = 1) -> None:
    now = timezone.now()
    InboundMessage.objects.filter(pk__in=ids).update(
        status=InboundStatus.PROCESSING, claimed_by=worker, updated_at=now - timedelta(seconds=claimed_ago)
    )
    if beat_ago is not None:
        at = now - timedelta(seconds=beat_ago)
        WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"beat_at": at, "started_at": at})


def test_a_claim_records_its_holder(instance: Instance, profile: Profile) -> None:
    [pk] = record(instance, mail())
    [message] = claim_many([pk])
    row = InboundMessage.objects.get(pk=pk)
    assert row.status == InboundStatus.PROCESSING and row.claimed_by == message.claimed_by
    assert row.claimed_by.count(":") == 2  # host:pid:nonce


def test_a_live_holder_keeps_its_claim(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail())
    held_by(ids, "other:1:aa", beat_ago=2)
    assert claim_many(ids) == []


def test_a_claim_whose_holder_stopped_beating_is_taken_over_at_once(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail(subject="One"), mail(subject="Two"))
    held_by(ids, "dead:1:aa", beat_ago=60)
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[0]: "created", ids[1]: "created"}
    overruns = dict(InboundMessage.objects.values_list("pk", "overruns"))
    assert overruns == {ids[0]: 1, ids[1]: 0}  # the first in processing order was the one in hand


def test_a_redelivered_task_takes_over_a_claim_whose_holder_still_beats(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail())
    held_by(ids, "killed:1:aa", beat_ago=2)
    assert claim_many(ids) == []
    assert [m.pk for m in claim_many(ids, redelivered=True)] == ids


def test_a_holder_without_heartbeat_keeps_its_claim_for_ten_minutes(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail())
    held_by(ids, "shell:1:aa", beat_ago=None, claimed_ago=60)
    assert claim_many(ids) == []
    held_by(ids, "shell:1:aa", beat_ago=None, claimed_ago=11 * 60)
    assert [m.pk for m in claim_many(ids)] == ids


def test_in_hand_at_two_deaths_ends_in_error(instance: Instance, profile: Profile) -> None:
    ids = record(instance, mail(subject="Poison"), mail(subject="Fine"))
    InboundMessage.objects.filter(pk=ids[0]).update(overruns=1)
    held_by(ids[:1], "dead:2:bb", beat_ago=60)  # its holder died with it in hand (its only message left)
    outcomes = process_inbound_group(ids, profile_id=profile.pk)
    assert outcomes == {ids[0]: "error", ids[1]: "created"}
    poison = InboundMessage.objects.get(pk=ids[0])
    assert poison.overruns == 2 and "did not finish twice" in poison.report["error"]


def test_an_overrun_releases_the_rest_and_the_second_ends_in_error(
    instance: Instance, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = record(instance, mail(subject="Fine"), mail(subject="Hangs"), mail(subject="Behind"))
    parse = service.parse

    def hanging(raw: bytes, **kwargs: Any) -> Any:
        if b"Subject: Hangs" in raw:
            raise SoftTimeLimitExceeded("budget")
        return parse(raw, **kwargs)

    monkeypatch.setattr(service, "parse", hanging)
    assert process_inbound_group(ids, profile_id=profile.pk) == {ids[0]: "created", ids[1]: OVERRAN, ids[2]: RELEASED}
    statuses = dict(InboundMessage.objects.values_list("pk", "status"))
    assert statuses == {ids[0]: "processed", ids[1]: "failed", ids[2]: "received"}
    assert process_inbound_group(ids[1:], profile_id=profile.pk) == {ids[1]: "error", ids[2]: "created"}
    poison = InboundMessage.objects.get(pk=ids[1])
    assert poison.overruns == 2
    assert poison.report["error"] == "processing took longer than 120 s twice: left for a human"


def test_a_reply_waits_for_its_request_captured_elsewhere(instance: Instance, profile: Profile) -> None:
    [request] = record(instance, mail(subject="Question", message_id="<q@c.example>"))
    [reply] = record(instance, mail(subject="Re: Question", headers={"In-Reply-To": "<q@c.example>"}))
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: WAITING}
    row = InboundMessage.objects.get(pk=reply)
    assert (row.status, row.claimed_by, row.report) == ("received", "", {})  # no attempt spent
    assert process_inbound_group([request], profile_id=profile.pk) == {request: "created"}
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: "commented"}
    assert Issue.objects.count() == 1 and Comment.objects.count() == 1


def test_a_reply_waits_only_for_unfinished_mail_of_its_own_instance_found_through_the_hash(
    instance: Instance, profile: Profile
) -> None:
    """The look-up names only the Message-ID hashes, so it reads their index however many rows the instance holds
    (the table never analysed, as right after a busy start); the instance, the status and the reply itself are
    checked on the few rows it finds: another instance's unprocessed copy of the request is not waited for."""
    from django.db import connection

    from inbound.pipeline.thread_order import rows_by_message_id_sql
    from jemh.crypto import keyed_hash_candidates

    other = Instance.objects.create(name="Other")
    [elsewhere] = record(other, mail(subject="Question", message_id="<q@c.example>"))
    record(
        instance,
        *(
            mail(subject=f"Noise {n}", sender=f"n{n}@noise.example", message_id=f"<noise-{n}@c.example>")
            for n in range(300)
        ),
    )
    [reply] = record(instance, mail(subject="Re: Question", headers={"In-Reply-To": "<q@c.example>"}))
    hashes = keyed_hash_candidates("q@c.example", purpose="message-id")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + rows_by_message_id_sql(len(hashes)), hashes)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Cond: ((message_id_hash)" in plan and "instance_id" not in plan, plan
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: "created"}  # nothing of its own to wait for
    assert InboundMessage.objects.get(pk=elsewhere).status == InboundStatus.RECEIVED


def test_the_worker_that_finishes_a_request_runs_the_replies_waiting_for_it(
    instance: Instance, profile: Profile
) -> None:
    [request] = record(instance, mail(subject="Printer", message_id="<w@c.example>"))
    replies = record(
        instance,
        mail(subject="Re: Printer", message_id="<w1@c.example>", headers={"In-Reply-To": "<w@c.example>"}),
        mail(subject="Re: Printer", headers={"In-Reply-To": "<w1@c.example>", "References": "<w@c.example>"}),
    )
    assert process_inbound_group(replies, profile_id=profile.pk) == dict.fromkeys(replies, WAITING)
    waits = dict(InboundMessage.objects.filter(pk__in=replies).values_list("pk", "waiting_on"))
    assert waits == {replies[0]: request, replies[1]: replies[0]}  # the reply to the reply waits for the reply
    # the run that finishes the request goes on with the reply, and with the reply to it (the next round)
    assert tasks.process_group([request]) == {request: "created", replies[0]: "commented", replies[1]: "commented"}
    assert Issue.objects.count() == 1 and Comment.objects.count() == 2
    assert not InboundMessage.objects.filter(waiting_on__isnull=False).exists()
    assert wake_waiting([request, *replies], 25) == []  # nothing left to wake: a late retry finds them finished


def test_a_reply_before_its_request_in_the_same_group_runs_after_it(instance: Instance, profile: Profile) -> None:
    reply, request = record(
        instance,
        mail(subject="Re: Question", headers={"In-Reply-To": "<q2@c.example>"}),
        mail(subject="Question", message_id="<q2@c.example>"),
    )
    assert process_inbound_group([reply, request], profile_id=profile.pk) == {request: "created", reply: "commented"}


def test_a_reply_stops_waiting_after_the_bound(instance: Instance, profile: Profile, settings: Any) -> None:
    record(instance, mail(subject="Question", message_id="<q3@c.example>"))
    [reply] = record(instance, mail(subject="Re: Question", headers={"In-Reply-To": "<q3@c.example>"}))
    InboundMessage.objects.filter(pk=reply).update(waiting_since=timezone.now() - timedelta(minutes=3))
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: "created"}
    note = InboundMessage.objects.get(pk=reply).report["thread_wait"]
    assert note.startswith("processed without waiting for #")
    assert "not tried within 120 s of this message's first wait" in note


def test_a_reply_captured_long_ago_still_waits_for_its_request(instance: Instance, profile: Profile) -> None:
    # after a backlog every reply is older than the bound: the bound runs from its first wait
    [request] = record(instance, mail(subject="Question", message_id="<q5@c.example>"))
    [reply] = record(instance, mail(subject="Re: Question", headers={"In-Reply-To": "<q5@c.example>"}))
    InboundMessage.objects.filter(pk__in=[request, reply]).update(created_at=timezone.now() - timedelta(hours=1))
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: WAITING}
    assert InboundMessage.objects.get(pk=reply).waiting_since is not None
    assert process_inbound_group([request], profile_id=profile.pk) == {request: "created"}
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: "commented"}
    assert InboundMessage.objects.get(pk=reply).waiting_since is None


def test_a_reply_waits_past_the_bound_while_its_request_is_being_retried(instance: Instance, profile: Profile) -> None:
    # a tracker outage longer than the bound: the request failed (temporary) and is retried; its reply must not
    # start a thread of its own when its own retry comes first
    [request] = record(instance, mail(subject="Question", message_id="<q4@c.example>"))
    [reply] = record(instance, mail(subject="Re: Question", headers={"In-Reply-To": "<q4@c.example>"}))
    InboundMessage.objects.filter(pk=request).update(status=InboundStatus.FAILED, processed_at=timezone.now())
    InboundMessage.objects.filter(pk=reply).update(waiting_since=timezone.now() - timedelta(minutes=10))
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: WAITING}
    assert tasks._wait_retries([reply])[reply] == tasks.WAIT_RETRY_MAX_SECONDS  # it looks again less often
    assert process_inbound_group([request], profile_id=profile.pk) == {request: "created"}
    assert process_inbound_group([reply], profile_id=profile.pk) == {reply: "commented"}


def test_two_messages_that_name_each_other_do_not_wait_for_each_other_without_end(
    instance: Instance, profile: Profile
) -> None:
    first, second = record(
        instance,
        mail(subject="Loop", message_id="<l1@c.example>", headers={"In-Reply-To": "<l2@c.example>"}),
        mail(subject="Re: Loop", message_id="<l2@c.example>", headers={"In-Reply-To": "<l1@c.example>"}),
    )
    # both failed once (a tracker outage): each is being retried, so each would wait for the other
    InboundMessage.objects.filter(pk__in=[first, second]).update(
        status=InboundStatus.FAILED, processed_at=timezone.now()
    )
    assert process_inbound_group([first], profile_id=profile.pk) == {first: WAITING}
    assert process_inbound_group([second], profile_id=profile.pk) == {second: WAITING}  # the first waits: bounded
    InboundMessage.objects.filter(pk=second).update(waiting_since=timezone.now() - timedelta(minutes=3))
    assert process_inbound_group([second], profile_id=profile.pk) == {second: "created"}
    assert process_inbound_group([first], profile_id=profile.pk) == {first: "commented"}


def test_the_sweep_takes_the_oldest_first_and_the_backlog_counts_what_is_unfinished(
    instance: Instance, profile: Profile
) -> None:
    ids = record(instance, *[mail(subject=f"Old {n}") for n in range(4)])
    long_ago = timezone.now() - timedelta(hours=1)
    InboundMessage.objects.filter(pk__in=ids).update(updated_at=long_ago, received_at=long_ago)
    held_by(ids[1:2], "dead:3:cc", beat_ago=60, claimed_ago=3600)
    held_by(ids[2:3], "alive:3:dd", beat_ago=1, claimed_ago=3600)
    assert oldest_waiting(10) == [ids[0], ids[1], ids[3]]
    assert oldest_waiting(2) == [ids[0], ids[1]]
    state = backlog()
    assert state.count == 4 and state.oldest_age_seconds is not None and state.oldest_age_seconds >= 3600
    process_inbound_group(ids[:2], profile_id=profile.pk)
    assert backlog().count == 2
