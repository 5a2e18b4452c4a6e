"""Fixtures of the pipeline tests: an instance with a local-tracker project, a profile, and helpers that
record a message the way capture does and process it."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import process_inbound
from inbound.pipeline.testcases import record_test_message
from jemh.models import Instance
from profiles.models import CatchAddress, Profile, ProjectMapping
from tests.profiles.conftest import DEFAULT_MAPPING as PROFILE_TESTS_MAPPING
from trackers.local import LocalTracker
from trackers.models import Project

# The profile tests' default mapping, without its clean-up patterns (these tests look at whole bodies).
DEFAULT_MAPPING = {**PROFILE_TESTS_MAPPING, "subject_cleanups": "", "body_cleanups": "", "body_delimiters": ""}


@pytest.fixture(autouse=True)
def our_domain(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "jemh@support.example.com"
    settings.JEMH_MESSAGE_ID_DOMAIN = "support.example.com"


@pytest.fixture()
def instance(db: None) -> Instance:
    return Instance.objects.create(name="Acme")


@pytest.fixture()
def agents(db: None) -> dict[str, Any]:
    model = get_user_model()
    return {
        "helpdesk": model.objects.create_user("helpdesk", "helpdesk@support.example.com"),
        "alice": model.objects.create_user("alice", "alice@example.org"),
    }


@pytest.fixture()
def projects(instance: Instance, agents: dict[str, Any]) -> dict[str, Project]:
    return {
        "SUP": Project.objects.create(instance=instance, key="SUP", name="Support"),
        "BIL": Project.objects.create(instance=instance, key="BIL", name="Billing"),
    }


@pytest.fixture()
def profile(instance: Instance, projects: dict[str, Project]) -> Profile:
    profile = Profile.objects.create(
        instance=instance,
        name="Support",
        reply_address="support@support.example.com",
        forward_to="admin@support.example.com",
    )
    ProjectMapping.objects.create(profile=profile, **DEFAULT_MAPPING)
    CatchAddress.objects.create(profile=profile, address="support@support.example.com")
    return profile


@pytest.fixture()
def tracker(instance: Instance, projects: dict[str, Project]) -> LocalTracker:
    return LocalTracker(instance)


def mail(
    *,
    subject: str = "Printer on fire",
    body: str = "Please help, the printer is on fire.",
    sender: str = "Carol Customer <carol@customer.example>",
    to: str = "support@support.example.com",
    cc: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    message_id: str | None = None,
    authenticated: bool = False,
) -> bytes:
    """A message; ``authenticated``: with our MTA's Authentication-Results saying it passed DMARC for the From
    domain (believed for mail of the ``deliver`` fixture's source, which trusts OUR_MTA)."""
    message = EmailMessage()
    if authenticated:
        message["Authentication-Results"] = authentication_results(sender)
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if cc:
        message["Cc"] = cc
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


OUR_MTA = "mx.support.example.com"  # the authserv-id the pipeline tests' source trusts


def authentication_results(sender: str, authserv_id: str = OUR_MTA) -> str:
    """An Authentication-Results value: DMARC, DKIM and SPF passed for the sender's domain."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    return (
        f"{authserv_id}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={address}; "
        f"dmarc=pass (p=reject) header.from={domain}"
    )


@pytest.fixture()
def mta_source(instance: Instance, profile: Profile) -> Source:
    """The source the ``deliver`` fixture's mail comes from: behind our MTA, whose verdicts it trusts."""
    return Source.objects.create(
        instance=instance, name="mta", kind=SourceKind.PIPE, profile=profile, trusted_authserv_ids=OUR_MTA
    )


@pytest.fixture()
def deliver(instance: Instance, profile: Profile, mta_source: Source) -> Callable[..., InboundMessage]:
    """Record raw mail as captured (audit row + encrypted blob) from ``mta_source`` and process it; returns the
    audit row."""

    def run(raw: bytes, *, profile_id: int | None = None) -> InboundMessage:
        message = record_test_message(instance.pk, raw)
        InboundMessage.objects.filter(pk=message.pk).update(source=mta_source)
        process_inbound(message.pk, profile_id=profile_id or profile.pk)
        message.refresh_from_db()
        return message

    return run


def reasons(message: InboundMessage) -> str:
    return " | ".join(step["reason"] for step in message.report.get("steps", []))


# Real Dovecot mailboxes and sources, shared with the inbound tests.
from tests.inbound.conftest import Mailbox, mailbox, mailbox_pool, make_source  # noqa: E402,F401
