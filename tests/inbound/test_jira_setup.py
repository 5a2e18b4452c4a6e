"""Connecting an instance to Jira (issue 13), Cloud and Data Center, against the fake Jira: "Test tracker
connection" says in plain words what works and what does not, for every project the mappings name; the custom
fields the handler uses are checked and the missing ones created; both as admin actions (their own permission)
and as ``jemh jira``."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from inbound.tracker_setup import connection_report, create_missing_fields, fields_report
from jemh.models import Instance, JiraDeployment
from profiles.models import Profile, ProjectMapping
from tests.profiles.conftest import make_profile
from tests.tenancy import member_of_every_instance
from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.test_jira_contract import jira_instance


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with running(request.param) as fake:
        fake.state.add_project("SUP", "Support", None)
        yield fake


@pytest.fixture()
def instance(db: None, fake: FakeJira) -> Instance:
    return jira_instance(fake, name="Acme")


@pytest.fixture()
def profile(instance: Instance) -> Profile:
    return make_profile(instance)


def text_of(report: Any) -> str:
    return "\n".join(report.lines())


def test_good_credentials_say_what_works(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    report = connection_report(instance)
    text = text_of(report)
    assert report.ok and report.authenticated, text
    assert f"ok: {fake.base_url} is reachable." in text
    if fake.flavour == "cloud":
        assert "ok: the site is Jira Cloud, version 1001.0.0-SNAPSHOT." in text
    else:
        assert "ok: the site is Jira Data Center/Server (Server), version 10.3.1." in text
    assert "ok: authenticated as JEMH Integration (integration@example.com)." in text
    assert "ok: may browse users" in text
    assert "ok: project SUP (Support) is visible; may create issues, add comments, add attachments." in text
    assert fake.count("getMyPermissions") == 2  # the global one, then one per project


def test_a_wrong_token_is_named_with_what_to_do(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    instance.jira_api_token = instance.jira_pat = "wrong"
    instance.save()
    report = connection_report(instance)
    text = text_of(report)
    assert not report.ok and not report.authenticated
    if fake.flavour == "cloud":
        assert "PROBLEM: Jira did not accept the instance's account e-mail and API token (401)." in text
        assert "id.atlassian.com/manage-profile/security/api-tokens" in text
    else:
        assert "PROBLEM: Jira did not accept the instance's personal access token (401)." in text
        assert "Personal Access Tokens" in text
    assert "project SUP" not in text  # nothing further is claimed on refused credentials


def test_a_missing_project_is_named_with_the_mapping_that_names_it(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    ProjectMapping.objects.create(profile=profile, name="Billing", project_key="BIL")
    text = text_of(connection_report(instance))
    assert "ok: project SUP (Support) is visible" in text
    assert (
        "PROBLEM: project BIL (named by profile 'Support', mapping 'Billing') is not visible: it does not exist, "
        "or the account may not browse it. What to do: check the project key in the mapping, or grant the "
        "account 'Browse Projects'"
    ) in text


def test_missing_permissions_are_named_with_what_to_do(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    fake.state.revoke("CREATE_ATTACHMENTS", "SUP")
    fake.state.revoke("USER_PICKER")
    report = connection_report(instance)
    text = text_of(report)
    assert not report.ok and report.authenticated
    assert "ok: project SUP (Support) is visible; may create issues, add comments." in text
    assert (
        "PROBLEM: project SUP: may not add attachments. What to do: grant the account 'Create Attachments' in "
        "project SUP's permission scheme"
    ) in text
    assert "PROBLEM: may not browse users: every sender would count as e-mail-only." in text
    assert "'Browse users and groups'" in text


def test_the_wrong_deployment_type_is_named(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    other = JiraDeployment.DATA_CENTER if fake.flavour == "cloud" else JiraDeployment.CLOUD
    Instance.objects.filter(pk=instance.pk).update(jira_deployment=other)
    instance.refresh_from_db()
    instance.jira_email, instance.jira_api_token, instance.jira_pat = "x@example.org", "token", "token"
    text = text_of(connection_report(instance))
    assert "but the instance is set up for" in text and "set the instance's Jira deployment to" in text
    # the first try went to the API version the instance is set up for, which this site (like a real Data Center
    # site for v3) does not serve: the fake counted it as a call it does not serve
    assert all("serverInfo, which the fake does not serve" in v for v in fake.violations)
    fake.violations.clear()


def test_an_unreachable_site_is_named(instance: Instance, profile: Profile) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    instance.base_url = f"http://127.0.0.1:{port}"
    text = text_of(connection_report(instance))
    assert f"PROBLEM: http://127.0.0.1:{port} is not reachable" in text and "check the base URL" in text


def test_jemh_jira_check_prints_the_findings_and_exits_1_on_a_problem(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    out = io.StringIO()
    call_command("jemh", "jira", "check", "--instance", "Acme", stdout=out)
    assert "ok: authenticated as JEMH Integration" in out.getvalue()
    fake.state.revoke("ADD_COMMENTS", "SUP")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("jemh", "jira", "check", "--instance", "Acme", stdout=out)
    assert exited.value.code == 1 and "PROBLEM: project SUP: may not add comments." in out.getvalue()


# -- custom fields ---------------------------------------------------------------------------------------------


def test_missing_custom_fields_are_found_and_created(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    Profile.objects.filter(pk=profile.pk).update(foreign_key_field="Case Number")
    fake.state.delete_custom_field("Email Participants")
    report = fields_report(instance)
    text = text_of(report)
    assert report.missing == {"Email Participants": "textarea", "Case Number": "textfield"}
    assert "ok: custom field 'Email Sender Address' exists (customfield_" in text
    assert "PROBLEM: custom field 'Case Number' (used by the foreign key of profile 'Support') does not exist" in text

    created = create_missing_fields(instance)
    assert created.ok, text_of(created)
    assert "put it on the create and edit screens" in text_of(created)
    participants, case = fake.state.field_by_name("Email Participants"), fake.state.field_by_name("Case Number")
    assert participants is not None and participants.schema["custom"].endswith(":textarea")
    assert case is not None and case.schema["custom"].endswith(":textfield")
    assert fake.count("createCustomField") == 2
    assert fields_report(instance).ok
    again = create_missing_fields(instance)
    assert again.title.endswith("nothing to create.") and fake.count("createCustomField") == 2


def test_creating_fields_without_admin_rights_says_to_create_them_by_hand(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    fake.state.delete_custom_field("Email Sender Name")
    fake.state.revoke("ADMINISTER")
    text = text_of(create_missing_fields(instance))
    assert "PROBLEM: could not create custom field 'Email Sender Name': Jira refused (403)" in text
    assert "'Administer Jira'" in text and "single-line text field named exactly 'Email Sender Name'" in text
    assert fake.state.field_by_name("Email Sender Name") is None


def test_jemh_jira_fields_create(instance: Instance, profile: Profile, fake: FakeJira) -> None:
    fake.state.delete_custom_field("Email Sender Name")
    with pytest.raises(SystemExit):
        call_command("jemh", "jira", "fields", "--instance", "Acme", stdout=io.StringIO())
    out = io.StringIO()
    call_command("jemh", "jira", "fields", "--instance", "Acme", "--create", stdout=out)
    assert "ok: created custom field 'Email Sender Name'" in out.getvalue()
    assert fake.state.field_by_name("Email Sender Name") is not None


# -- the admin actions ------------------------------------------------------------------------------------------


def staff(username: str, *codenames: str) -> Client:
    user = member_of_every_instance(
        get_user_model().objects.create_user(username, f"{username}@example.org", is_staff=True)
    )
    for codename in ("view_instance", *codenames):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="jemh", codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_the_connection_action_needs_its_permission_and_reports_plainly(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    changelist = reverse("admin:jemh_instance_changelist")
    viewer = staff("viewer")
    assert "test_tracker_connection" not in viewer.get(changelist).content.decode()
    checker = staff("checker", "check_tracker")
    assert "test_tracker_connection" in checker.get(changelist).content.decode()
    page = checker.post(
        changelist, {"action": "test_tracker_connection", "_selected_action": [instance.pk]}, follow=True
    ).content.decode()
    assert "ok: authenticated as JEMH Integration" in page and "project SUP (Support) is visible" in page


def test_the_custom_fields_action_offers_to_create_the_missing_ones(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    fake.state.delete_custom_field("Email Participants")
    changelist = reverse("admin:jemh_instance_changelist")
    checker = staff("checker", "check_tracker")
    offer = checker.post(changelist, {"action": "check_custom_fields", "_selected_action": [instance.pk]})
    page = offer.content.decode()
    assert "custom field &#x27;Email Participants&#x27;" in page and "Create the missing fields" in page
    assert fake.state.field_by_name("Email Participants") is None  # only offered
    done = checker.post(
        changelist, {"action": "check_custom_fields", "_selected_action": [instance.pk], "apply": "1"}, follow=True
    )
    assert "created custom field" in done.content.decode()
    assert fake.state.field_by_name("Email Participants") is not None


def test_resume_needs_its_permission_and_working_credentials(
    instance: Instance, profile: Profile, fake: FakeJira
) -> None:
    good = (instance.jira_api_token, instance.jira_pat)
    instance.processing_paused, instance.processing_paused_reason = True, "Jira refused (401)"
    instance.jira_api_token = instance.jira_pat = "wrong"
    instance.save()
    changelist = reverse("admin:jemh_instance_changelist")
    assert 'value="resume"' not in staff("viewer").get(changelist).content.decode()
    operator = staff("operator", "resume_processing")
    assert 'value="resume"' in operator.get(changelist).content.decode()
    page = operator.post(changelist, {"action": "resume", "_selected_action": [instance.pk]}, follow=True)
    assert "still paused" in page.content.decode()
    instance.refresh_from_db()
    assert instance.processing_paused
    instance.jira_api_token, instance.jira_pat = good
    instance.save()
    page = operator.post(changelist, {"action": "resume", "_selected_action": [instance.pk]}, follow=True)
    assert "processing resumed; 0 waiting message(s) queued" in page.content.decode()
    instance.refresh_from_db()
    assert not instance.processing_paused
