"""The plain-text issue key of an audit row: taken from the report when the outcome is set, filled for rows
processed before the column existed, and turned into links many at a time."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from inbound.models import InboundMessage, Outcome
from inbound.pipeline.outcome import issue_key_of
from jemh.models import Instance, TrackerKind
from notifications.models import OutboundMessage
from notifications.services import outbound_for_inbound
from trackers.models import Issue, Project
from trackers.registry import issue_url, issue_urls

CREATED = {"steps": [{"step": "routing", "reason": "ok"}, {"step": "action", "details": {"issue": "SUP-7"}}]}
backfill = importlib.import_module("inbound.migrations.0006_inboundmessage_issue_key")


@pytest.mark.parametrize(
    ("outcome", "report", "key"),
    [
        ("created", CREATED, "SUP-7"),
        ("commented", {"steps": [{"step": "action", "details": {"issue": "SUP-2", "comment": "9"}}]}, "SUP-2"),
        ("dropped", CREATED, ""),  # only outcomes that wrote to an issue
        ("created", {"steps": [{"step": "action", "details": {"issue": "SUP-7", "dry_run": True}}]}, ""),
        ("created", {"steps": "not a list"}, ""),
        ("created", None, ""),
    ],
)
def test_issue_key_of(outcome: str, report: object, key: str) -> None:
    assert issue_key_of(outcome, report) == key
    assert backfill.issue_key_of(outcome, report) == key  # the migration's frozen copy agrees


@pytest.mark.django_db
def test_the_migration_fills_keys_of_rows_processed_before_it() -> None:
    instance = Instance.objects.create(name="Acme")
    now = timezone.now()
    created = InboundMessage.objects.create(instance=instance, received_at=now, outcome="created", report=CREATED)
    dropped = InboundMessage.objects.create(instance=instance, received_at=now, outcome="dropped", report=CREATED)
    backfill.fill_issue_keys(apps, None)
    assert InboundMessage.objects.get(pk=created.pk).issue_key == "SUP-7"
    assert InboundMessage.objects.get(pk=dropped.pk).issue_key == ""


@pytest.mark.django_db
def test_issue_urls_agree_with_issue_url_in_two_queries(django_assert_max_num_queries: Any) -> None:
    local = Instance.objects.create(name="Acme")
    project = Project.objects.create(instance=local, key="SUP", name="Support")
    issue = Issue.objects.create(instance=local, project=project, number=1, key="SUP-1", summary="x")
    jira = Instance.objects.create(name="Site", tracker_kind=TrackerKind.JIRA, base_url="https://acme.example/")
    with django_assert_max_num_queries(2):
        urls = issue_urls(local.pk, ["sup-1", "SUP-404"])
    assert urls == {"sup-1": reverse("admin:trackers_issue_change", args=[issue.pk]), "SUP-404": ""}
    assert urls["sup-1"] == issue_url(local.pk, "sup-1")
    assert issue_urls(jira.pk, ["ABC-3"]) == {"ABC-3": "https://acme.example/browse/ABC-3"}
    assert issue_urls(local.pk, []) == {}


@pytest.mark.django_db
def test_outbound_for_inbound_lists_the_mail_a_message_caused() -> None:
    instance = Instance.objects.create(name="Acme")
    message = InboundMessage.objects.create(instance=instance, received_at=timezone.now(), outcome=Outcome.REJECTED)
    hint = OutboundMessage.objects.create(
        instance=instance, kind="hint", inbound_id=message.pk, recipient_hash="h", message_id="<a@x>"
    )
    OutboundMessage.objects.create(instance=instance, kind="hint", inbound_id=None, recipient_hash="h", message_id="b")
    found = outbound_for_inbound(message.pk)
    assert [(m.outbound_id, m.kind, m.status) for m in found] == [(hint.pk, "hint", "queued")]
