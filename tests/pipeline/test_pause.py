"""Pausing an instance's processing (inbound.pipeline.pause): paused once by many workers, its mail neither
claimed nor swept while paused, and queued again on resume."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.backlog import oldest_waiting
from inbound.pipeline.claims import claim
from inbound.pipeline.pause import pause
from inbound.pipeline.testcases import record_test_message
from inbound.services import resume_processing
from jemh.models import Instance
from notifications.choices import OutboundKind
from notifications.models import OutboundMessage
from tests.pipeline.conftest import mail


def test_an_instance_is_paused_once_and_its_admins_told_once(instance: Instance, smtp_mail: Any) -> None:
    instance.admins.add(get_user_model().objects.create_user("ops", "ops@example.test"))
    assert pause(instance, "Jira refused GET /myself (401: ...)") is True
    other_worker = Instance.objects.get(pk=instance.pk)
    assert pause(other_worker, "Jira refused POST /issue (401: ...)") is False  # already paused: no second alert
    instance.refresh_from_db()
    assert instance.processing_paused and instance.processing_paused_reason.startswith("Jira refused GET /myself")
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert OutboundMessage.objects.filter(kind=OutboundKind.ALERT).count() == 1


def test_a_paused_instances_mail_is_neither_claimed_nor_swept_and_is_queued_on_resume(
    instance: Instance, smtp_mail: Any
) -> None:
    message = record_test_message(instance.pk, mail())
    InboundMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert oldest_waiting(10) == [message.pk]  # (the sweep would queue it)
    pause(instance, "Jira refused (401)")
    assert oldest_waiting(10) == [] and claim([message.pk]) == []
    assert InboundMessage.objects.get(pk=message.pk).status == InboundStatus.RECEIVED
    assert resume_processing(instance) == 1
    assert oldest_waiting(10) == [message.pk] and claim([message.pk]) == [message.pk]
