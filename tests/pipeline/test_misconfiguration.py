"""Misconfiguration is loud (issue 19): an ambiguous profile, a mapping to an unknown project and a tracker that
refuses the instance's credentials each show on the admin's start page, log one WARNING and mail the instance's
admins once (over the real SMTP server), however many messages run into it; saving such a configuration in the
admin warns at once.

Seen: importing a profile left two enabled profiles, and the next mail of a source without a profile ended in
``error`` with nothing logged at WARNING and nobody told."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inbound import misconfiguration
from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.pause import pause
from inbound.pipeline.service import process_inbound
from jemh.models import Instance
from notifications.choices import OutboundKind
from notifications.models import OutboundMessage
from profiles.models import Profile, ProjectMapping
from profiles.portability import export_profile_json
from tests.pipeline.conftest import mail
from trackers.models import Project

WARNINGS = "inbound.misconfiguration"


@pytest.fixture()
def ops(instance: Instance) -> Any:
    user = get_user_model().objects.create_superuser("ops", "ops@example.test", "pw-Ops-12345")
    instance.admins.add(user)
    return user


@pytest.fixture()
def admin_client(ops: Any) -> Client:
    client = Client()
    client.force_login(ops)
    return client


def alerts(instance: Instance) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(instance=instance, kind=OutboundKind.ALERT))


def misconfiguration_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WARNINGS and r.levelno == logging.WARNING]


def start_page(client: Client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_ambiguous_profile_warns_on_import_logs_once_and_mails_the_admins_once(
    instance: Instance, profile: Profile, admin_client: Client, smtp_mail: Any, caplog: pytest.LogCaptureFixture
) -> None:
    source = Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE)  # no profile
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    response = admin_client.post(
        "/admin/profiles/profile/import/",
        {"instance": instance.pk, "name": "Imported", "text": export_profile_json(profile)},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("source 'pipe-in' names no profile and the instance has 2 enabled profiles" in m for m in shown), shown
    received = smtp_mail.wait_for(1)
    assert received[0].envelope_to == ["ops@example.test"]
    assert "misconfigured" in str(received[0].message["Subject"])
    assert "pipe-in" in received[0].message.get_body(("plain",)).get_content()

    for subject in ("One", "Two", "Three"):  # mail then runs into it, message after message
        message = capture(source, mail(subject=subject)).message
        assert message is not None
        assert process_inbound(message.pk) == "error"
    assert len(alerts(instance)) == 1
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert len(misconfiguration_warnings(caplog)) == 1
    page = start_page(admin_client)
    assert 'data-kind="ambiguous-profile"' in page and "pipe-in" in page

    source.profile = profile  # fixed: gone from the start page
    source.save()
    assert "ambiguous-profile" not in start_page(admin_client)


def test_mail_into_an_ambiguous_profile_alerts_once_without_any_save(
    instance: Instance, profile: Profile, ops: Any, smtp_mail: Any, caplog: pytest.LogCaptureFixture
) -> None:
    Profile.objects.create(instance=instance, name="Second")  # made outside the admin: nobody was warned
    source = Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE)
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    for subject in ("One", "Two"):
        message = capture(source, mail(subject=subject)).message
        assert message is not None
        process_inbound(message.pk)
    assert InboundMessage.objects.filter(status="error").count() == 2
    assert len(smtp_mail.wait_for(1)) == 1
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert len(alerts(instance)) == 1
    assert len(misconfiguration_warnings(caplog)) == 1


def test_a_mapping_to_an_unknown_project_warns_on_save_and_mails_once(
    instance: Instance, profile: Profile, admin_client: Client, smtp_mail: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The mapping form offers only the tracker's projects; deleting the project a mapping names leaves it unknown."""
    project = Project.objects.get(instance=instance, key="SUP")
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    response = admin_client.post(f"/admin/trackers/project/{project.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Project.objects.filter(pk=project.pk).exists()
    shown = [str(m) for m in response.context["messages"]]
    assert any("names the project SUP" in m for m in shown), shown
    received = smtp_mail.wait_for(1)
    assert "SUP" in received[0].message.get_body(("plain",)).get_content()

    source = Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE, profile=profile)
    for subject in ("One", "Two"):
        message = capture(source, mail(subject=subject)).message
        assert message is not None
        assert process_inbound(message.pk) == "error"
    assert len(alerts(instance)) == 1
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert len(misconfiguration_warnings(caplog)) == 1
    assert 'data-kind="unknown-project"' in start_page(admin_client)


def test_a_tracker_that_refuses_credentials_shows_on_the_start_page_with_one_alert(
    instance: Instance, profile: Profile, admin_client: Client, smtp_mail: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert pause(instance, "401 Unauthorized: the API token was revoked")
    assert not pause(instance, "401 Unauthorized: the API token was revoked")  # the next message: already paused
    assert len(smtp_mail.wait_for(1)) == 1
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    paused_warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "paused" in r.getMessage()]
    assert len(paused_warnings) == 1
    found = misconfiguration.report(Instance.objects.get(pk=instance.pk))
    assert [p.kind for p in found] == ["tracker-refused"]
    assert len(alerts(instance)) == 1  # the pause told them; the misconfiguration report does not again
    page = start_page(admin_client)
    assert 'data-kind="tracker-refused"' in page and "Resume processing" in page


def test_a_good_configuration_has_no_problem(instance: Instance, profile: Profile) -> None:
    Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE)  # one enabled profile: fine
    assert misconfiguration.problems_of(instance) == []


def test_mail_into_an_unknown_project_alerts_once_without_any_save(
    instance: Instance, profile: Profile, ops: Any, smtp_mail: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ProjectMapping.objects.filter(profile=profile).update(project_key="GONE")  # outside the admin: nobody warned
    profile.save()  # a new version: the profile's cached snapshot is renewed
    source = Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE, profile=profile)
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    for subject in ("One", "Two"):
        message = capture(source, mail(subject=subject)).message
        assert message is not None
        assert process_inbound(message.pk) == "error"
    [alert] = smtp_mail.wait_for(1)
    assert "GONE" in alert.message.get_body(("plain",)).get_content()
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1
    assert len(misconfiguration_warnings(caplog)) == 1
