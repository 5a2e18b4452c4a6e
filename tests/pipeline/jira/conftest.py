"""Fixtures of the pipeline tests on Jira: the fake Jira of each flavour with projects SUP and BIL, an instance on it,
and the profile's default reporter an account there (overriding the pipeline tests' local-tracker fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jemh.models import Instance
from profiles.models import Profile, ProjectMapping
from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.test_jira_contract import jira_instance


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with running(request.param) as fake:
        fake.state.add_project("SUP", "Support", None)
        fake.state.add_project("BIL", "Billing", None)
        yield fake


@pytest.fixture()
def instance(db: None, fake: FakeJira) -> Instance:
    return jira_instance(fake, name="Acme")


@pytest.fixture()
def projects() -> dict[str, Any]:
    return {}  # the projects are in the fake Jira


@pytest.fixture()
def profile(profile: Profile, fake: FakeJira) -> Profile:
    helpdesk = fake.state.add_user("helpdesk", "helpdesk@support.example.com", "Helpdesk")
    ProjectMapping.objects.filter(profile=profile).update(default_reporter=helpdesk.account_id)
    return profile
