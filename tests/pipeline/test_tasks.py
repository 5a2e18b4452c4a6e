"""The pipeline's tasks: groups of captured messages, and the sweep that resumes what was left waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.tasks import process_messages, resume_processing
from inbound.pipeline.testcases import record_test_message
from tests.pipeline.conftest import mail
from tests.services.celery import celery_pointed_at
from trackers.models import Issue

pytestmark = pytest.mark.django_db


def test_group_task_processes_each_message_once(instance, profile, projects) -> None:
    ids = [record_test_message(instance.pk, mail(subject=f"Group {n}")).pk for n in range(3)]
    process_messages(ids)
    process_messages(ids)  # delivered twice (at-least-once brokers): nothing more happens
    assert sorted(InboundMessage.objects.values_list("outcome", flat=True)) == ["created"] * 3
    assert Issue.objects.count() == 3


def test_sweep_resumes_messages_left_waiting(instance, profile, projects) -> None:
    never_queued = record_test_message(instance.pk, mail(subject="never queued"))
    abandoned = record_test_message(instance.pk, mail(subject="worker died"))
    fresh = record_test_message(instance.pk, mail(subject="just arrived"))
    long_ago = timezone.now() - timedelta(hours=1)
    InboundMessage.objects.filter(pk=never_queued.pk).update(updated_at=long_ago)
    InboundMessage.objects.filter(pk=abandoned.pk).update(status=InboundStatus.PROCESSING, updated_at=long_ago)
    with celery_pointed_at("memory://") as app:
        app.conf.task_always_eager = True  # run what the sweep queues right here
        assert resume_processing() == 2
    outcomes = dict(InboundMessage.objects.values_list("pk", "outcome"))
    assert outcomes == {never_queued.pk: "created", abandoned.pk: "created", fresh.pk: ""}
