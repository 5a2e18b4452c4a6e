"""The project mapping's form fits its job (issue 19): a new profile's default mapping starts with working values, the
"inherited" wording appears only on mappings that inherit, and project, issue type and priority offer the tracker's
values (the local tracker's, and Jira's through the Tracker interface, on the fake Jira)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from jemh.models import Instance
from profiles.mapping_form import default_mapping_help, mapping_form_for
from profiles.models import Profile, ProjectMapping
from profiles.models.mappings import INHERIT_HELP
from tests.profiles.conftest import make_profile
from tests.profiles.test_admin import _form_data
from tests.trackers.jira_fake import FakeJira
from tests.trackers.test_jira_contract import jira_instance
from trackers.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture()
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture()
def local(db: None) -> Instance:
    instance = Instance.objects.create(name="Acme")
    lead = get_user_model().objects.create_user("lena", "lena@example.org")
    Project.objects.create(instance=instance, key="SUP", name="Support", lead=lead, default_issue_type="Question")
    Project.objects.create(instance=instance, key="OPS", name="Operations")
    return instance


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest) -> Iterator[Instance]:
    fake = FakeJira(request.param).start()
    fake.state.add_project("HELP", "Help desk", None)
    fake.state.add_project("ACME", "Acme", None)
    yield jira_instance(fake)
    fake.stop()
    assert not fake.violations, fake.violations


def _options(page: str, name: str) -> list[str]:
    select = page.split(f'<select name="{name}"')[1].split("</select>")[0]
    return [part.split('"')[0] for part in select.split('<option value="')[1:]]


def test_new_profile_default_mapping_is_prefilled_and_saves_as_it_is(admin_client: Client, local: Instance) -> None:
    # Issue 19: it started blank, and saving gave seven "The default mapping must set this." errors.
    url = reverse("admin:profiles_profile_add")
    response = admin_client.get(url)
    page = response.content.decode()
    mapping = response.context["inline_admin_formsets"][1].formset.forms[0]
    assert mapping["is_default"].value() is True
    assert mapping["project_key"].value() == "SUP"  # the first project with a lead, who reports for e-mail-only senders
    assert mapping["issue_type"].value() == "Question" and mapping["default_reporter"].value() == "lena"
    assert mapping["default_summary"].value() == "(no subject)"
    assert INHERIT_HELP not in page.split('id="mappings-group"')[1].split("</fieldset>")[0]
    data = _form_data(response)
    data.update({"instance": local.pk, "name": "New", "catch_addresses-0-address": "new@example.com"})
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    default = Profile.objects.get(name="New").mappings.get()
    assert (default.is_default, default.project_key, default.issue_type) == (True, "SUP", "Question")
    assert default.unknown_sender_action == "email_only" and default.operating_mode == "create_and_comment"


def test_inherited_wording_only_on_mappings_that_inherit(admin_client: Client, local: Instance) -> None:
    profile = make_profile(local)
    other = ProjectMapping.objects.create(profile=profile, name="Ops", project_key="OPS")
    default = profile.mappings.get(is_default=True)
    default_page = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[default.pk]))
    other_page = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[other.pk]))
    assert INHERIT_HELP not in default_page.content.decode()
    assert "Empty: the tracker's." in default_page.content.decode()  # priority on the default
    assert INHERIT_HELP in other_page.content.decode()
    assert default_mapping_help("Used for an empty subject. " + INHERIT_HELP) == "Used for an empty subject."


def test_local_tracker_values_are_offered(admin_client: Client, local: Instance) -> None:
    profile = make_profile(local)
    default = profile.mappings.get(is_default=True)  # project SUP, issue type Task, priority Medium
    page = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[default.pk])).content.decode()
    assert _options(page, "project_key") == ["", "OPS", "SUP"]
    assert _options(page, "issue_type") == ["", "Task", "Bug", "Story", "Question", "Incident"]
    assert _options(page, "priority") == ["", "Highest", "High", "Medium", "Low", "Lowest"]
    assert '<option value="SUP" selected>SUP — Support</option>' in page


def test_an_issue_type_the_project_lacks_is_refused(local: Instance) -> None:
    profile = make_profile(local)
    form_class = mapping_form_for(local)
    other = {"profile": profile.pk, "name": "Ops", "project_key": "OPS", "issue_type": "Epic"}
    form = form_class(data=other)
    assert not form.is_valid()
    assert "Select a valid choice" in str(form.errors["issue_type"])  # not offered at all
    kept = ProjectMapping(profile=profile, name="Old", issue_type="Epic")  # a value typed before choices existed
    form = form_class(instance=kept)
    assert ("Epic", "Epic (not in the tracker)") in form.fields["issue_type"].choices  # type: ignore[attr-defined]


def test_jira_values_are_offered_through_the_tracker_interface(admin_client: Client, jira: Instance) -> None:
    profile = make_profile(jira)
    default = profile.mappings.get(is_default=True)
    page = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[default.pk])).content.decode()
    assert _options(page, "project_key")[:3] == ["", "ACME", "HELP"]
    assert "SUP (not in the tracker)" in page  # the fixture's project is not on this Jira: said, not hidden
    assert {"Task", "Bug"} <= set(_options(page, "issue_type"))
    assert {"Medium", "High"} <= set(_options(page, "priority"))


def test_an_unreachable_tracker_leaves_the_fields_free_text(admin_client: Client) -> None:
    down = Instance.objects.create(
        name="Down", tracker_kind="jira", base_url="http://127.0.0.1:9", jira_deployment="cloud"
    )
    profile = make_profile(down)
    default = profile.mappings.get(is_default=True)
    response = admin_client.get(reverse("admin:profiles_projectmapping_change", args=[default.pk]))
    assert response.status_code == 200
    assert '<input type="text" name="project_key" value="SUP"' in response.content.decode()
