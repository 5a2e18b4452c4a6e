"""The Celery task and each source's beat schedule."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from inbound.models import InboundMessage, Source, SourceKind
from inbound.tasks import POLL_TASK, poll_source
from tests.inbound.conftest import Mailbox, make_message

pytestmark = pytest.mark.django_db


def test_schedule_follows_the_source(instance: Any) -> None:
    source = Source.objects.create(
        instance=instance, name="box", kind=SourceKind.MAILDIR, maildir_path="/m", poll_interval=120
    )
    task = PeriodicTask.objects.get(name=f"{POLL_TASK}:{source.pk}")
    assert (task.task, json.loads(task.args), task.enabled) == (POLL_TASK, [source.pk], True)
    assert (task.interval.every, task.interval.period) == (120, "seconds")
    source.poll_interval, source.enabled = 60, False
    source.save()
    task.refresh_from_db()
    assert task.interval.every == 60 and task.enabled is False
    source.delete()
    assert not PeriodicTask.objects.filter(name=f"{POLL_TASK}:{source.pk}").exists()


def test_pipe_sources_are_not_scheduled(instance: Any) -> None:
    source = Source.objects.create(instance=instance, name="mta", kind=SourceKind.PIPE)
    assert PeriodicTask.objects.get(name=f"{POLL_TASK}:{source.pk}").enabled is False


def test_poll_task_captures_and_is_idempotent(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(), make_message())
    source = make_source()
    first = poll_source.apply(args=(source.pk,)).get()
    second = poll_source.apply(args=(source.pk,)).get()
    assert (first["status"], first["captured"]) == ("ok", 2)
    assert (second["status"], second["captured"]) == ("ok", 0)
    assert InboundMessage.objects.count() == 2
    assert poll_source.apply(args=(999999,)).get()["status"] == "skipped"
