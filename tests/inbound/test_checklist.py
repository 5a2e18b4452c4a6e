"""The getting-started checklist's states (issue 19): each step is done only when what it asks for exists and
works (a default mapping that is incomplete keeps the profile step to do, and says why), and the checklist is gone
once the instance has processed mail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from inbound.checklist import checklist_for
from inbound.models import InboundMessage, InboundStatus, Source, SourceKind
from inbound.pipeline.testcases import record_test_message
from notifications.models import NotificationMapping
from profiles.models import Profile, ProjectMapping
from tests.pipeline.conftest import DEFAULT_MAPPING, mail
from trackers.models import Project


def states(user: Any) -> list[bool]:
    return [step.done for step in checklist_for(user).steps]


def test_each_step_is_done_when_its_object_exists_and_works(instance: Any) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.test", "x")
    assert states(root) == [True, False, False, False, False, False]
    Project.objects.create(instance=instance, key="SUP", name="Support")
    profile = Profile.objects.create(instance=instance, name="Support")
    ProjectMapping.objects.create(profile=profile, name="Default", is_default=True, project_key="SUP")
    checklist = checklist_for(root)
    assert states(root) == [True, True, False, False, False, False]
    assert "is incomplete: set" in checklist.steps[2].detail and "issue type" in checklist.steps[2].detail
    assert checklist.steps[2].url == f"/admin/profiles/profile/{profile.pk}/change/"
    ProjectMapping.objects.filter(profile=profile).update(**{k: v for k, v in DEFAULT_MAPPING.items() if k != "name"})
    source = Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE, profile=profile)
    NotificationMapping.objects.create(instance=instance, name="All")
    assert states(root) == [True, True, True, True, True, False]
    # without a trusted authserv-id nobody is authenticated: nobody is acknowledged (backscatter), and it says so
    assert "trusted authserv-ids are empty" in checklist_for(root).steps[3].detail
    Source.objects.filter(pk=source.pk).update(trusted_authserv_ids="mx.example.com")
    assert checklist_for(root).steps[3].detail == ""
    assert checklist_for(root).shown

    message = record_test_message(instance.pk, mail())
    InboundMessage.objects.filter(pk=message.pk).update(status=InboundStatus.PROCESSED, outcome="created")
    gone = checklist_for(root)
    assert gone.steps == () and not gone.shown


def test_an_empty_database_starts_with_the_instance(db: None) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.test", "x")
    checklist = checklist_for(root)
    assert checklist.instance is None and not any(step.done for step in checklist.steps)
    assert checklist.steps[0].url == "/admin/jemh/instance/add/"
