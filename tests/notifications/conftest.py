"""Fixtures of the notification tests: an instance with a local-tracker project and people, a mapping, blobs in a
folder of the test, and Django's SMTP backend pointed at the real aiosmtpd sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from jemh.models import Instance
from notifications.models import NotificationMapping
from tests.services.celery import celery_pointed_at

REPLY_ADDRESS = "support@example.com"


@pytest.fixture(autouse=True)
def our_domain(settings: Any) -> None:
    settings.JEMH_MESSAGE_ID_DOMAIN = "notify.example.com"


@pytest.fixture(autouse=True)
def memory_broker() -> Iterator[None]:
    """Tasks queued by on-commit callbacks go to Celery's in-memory transport, where no worker takes them: the
    tests drive the services (flush, send) themselves and leave nothing in the project's broker folder. The
    worker test points the app at a real Redis instead."""
    with celery_pointed_at("memory://"):
        yield


@pytest.fixture()
def instance(transactional_db: None) -> Instance:
    return Instance.objects.create(name="Acme Support")


@pytest.fixture()
def users(instance: Instance) -> dict[str, Any]:
    model = get_user_model()
    return {
        "alice": model.objects.create_user("alice", "alice@example.org", first_name="Alice", last_name="Agent"),
        "bob": model.objects.create_user("bob", "bob@example.org", first_name="Bob"),
        "lena": model.objects.create_user("lena", "lena@example.org", first_name="Lena"),
    }


@pytest.fixture()
def project(instance: Instance, users: dict[str, Any]) -> Any:
    from trackers.models import Project

    return Project.objects.create(instance=instance, key="ABC", name="Acme Basic Care", lead=users["lena"])


@pytest.fixture()
def tracker(instance: Instance, project: Any) -> Any:
    from trackers.registry import get_tracker

    return get_tracker(instance)


@pytest.fixture()
def profile(instance: Instance) -> Any:
    from profiles.models import CatchAddress, Profile

    created = Profile.objects.create(instance=instance, name="Support", reply_address=REPLY_ADDRESS)
    CatchAddress.objects.create(profile=created, address="help@example.com")
    CatchAddress.objects.create(profile=created, address=r"desk-[a-z]+@example\.com", is_regex=True)
    return created


@pytest.fixture()
def mapping(instance: Instance, project: Any, profile: Any) -> NotificationMapping:
    return NotificationMapping.objects.create(instance=instance, name="Everything", batch_window_seconds=0)
