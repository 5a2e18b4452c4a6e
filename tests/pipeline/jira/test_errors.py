"""What Jira's refusals become in the pipeline (issue 13), Cloud and Data Center, against the fake Jira: a 400 is
an ``error`` outcome naming the field; a 401 pauses the instance with one alert, loses nothing and resumes once the
credentials are fixed; a reply to an issue deleted in Jira becomes a new issue; a Cloud address hidden by its
owner's privacy setting makes an e-mail-only sender, with the reason in the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.service import PAUSED, process_inbound_group
from inbound.pipeline.testcases import record_test_message
from inbound.services import resume_processing
from jemh.models import Instance
from notifications.choices import OutboundKind
from notifications.models import OutboundMessage
from notifications.threading import new_message_id
from profiles.models import Profile, ProjectMapping
from tests.pipeline.conftest import mail, reasons
from tests.trackers.jira_fake import FakeJira
from trackers.jira.issue_state import forget_issue


def delete_in_jira(fake: FakeJira, instance: Instance, key: str) -> None:
    """An agent deletes the issue in Jira, and Jira's ``jira:issue_deleted`` webhook arrives (its intake forgets the
    backend's kept state of the issue; without a webhook the comment's 404 finds out, see the test below)."""
    fake.state.delete_issue(key)
    forget_issue(instance.pk, key)


def field_id(fake: FakeJira, name: str) -> str:
    found = fake.state.field_by_name(name)
    assert found is not None
    return found.id


def test_a_field_jira_refuses_is_an_error_outcome_naming_the_field(
    deliver: Callable[..., InboundMessage], fake: FakeJira
) -> None:
    sender_field = field_id(fake, "Email Sender Address")
    fake.state.off_screen.add(sender_field)  # a Jira admin took the field off the create screen
    message = deliver(mail())
    assert (message.status, message.outcome) == (InboundStatus.ERROR, "error")
    error = message.report["error"]
    assert f"Email Sender Address ({sender_field})" in error and "not on the appropriate screen" in error
    assert "What to do" in error and "create and edit screens" in error
    assert fake.count("createIssue") == 1 and not fake.state.issues  # refused once, not retried


def test_wrong_credentials_pause_the_instance_with_one_alert_and_lose_nothing(
    instance: Instance, profile: Profile, fake: FakeJira, smtp_mail: Any
) -> None:
    instance.admins.add(get_user_model().objects.create_user("ops", "ops@example.test"))
    good = (instance.jira_api_token, instance.jira_pat)
    instance.jira_api_token = instance.jira_pat = "revoked-token"
    instance.save()
    messages = [record_test_message(instance.pk, mail(subject=f"Request {n}")) for n in range(3)]
    ids = [m.pk for m in messages]

    outcomes = process_inbound_group(ids, profile_id=profile.pk)
    assert outcomes == dict.fromkeys(ids, PAUSED)
    instance.refresh_from_db()
    assert instance.processing_paused and "401" in instance.processing_paused_reason
    assert set(InboundMessage.objects.filter(pk__in=ids).values_list("status", "outcome")) == {
        (InboundStatus.RECEIVED, "")
    }  # waiting, nothing lost, no attempt spent
    calls = sum(fake.calls.values())
    assert calls <= 3  # the first refusal paused the group: not one call per message, no retries

    assert process_inbound_group(ids, profile_id=profile.pk) == {}  # a paused instance's mail is not claimed
    assert sum(fake.calls.values()) == calls
    received = smtp_mail.wait_for(1)
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1  # one alert, not one per message
    assert received[0].envelope_to == ["ops@example.test"]
    text = received[0].message.get_body(("plain",)).get_content()
    assert "paused" in str(received[0].message["Subject"]) and "Resume processing" in text and "401" in text
    assert OutboundMessage.objects.filter(instance=instance, kind=OutboundKind.ALERT).count() == 1

    instance.jira_api_token, instance.jira_pat = good  # the admin enters a working token ...
    instance.save()
    assert resume_processing(instance) == 3  # ... and resumes: the waiting mail is queued
    instance.refresh_from_db()
    assert not instance.processing_paused
    outcomes = process_inbound_group(ids, profile_id=profile.pk)  # what the worker does with the queued group
    assert outcomes == dict.fromkeys(ids, "created")
    assert sorted(i.fields["summary"] for i in fake.state.issues.values()) == [f"Request {n}" for n in range(3)]
    assert len(smtp_mail.wait_for(2, timeout=0.5)) == 1


def test_a_403_on_create_pauses_too(
    instance: Instance, profile: Profile, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    fake.inject("createIssue", status=403)
    message = deliver(mail())
    instance.refresh_from_db()
    assert instance.processing_paused and "403" in instance.processing_paused_reason
    assert message.status == InboundStatus.RECEIVED and not fake.state.issues


def test_a_reply_to_an_issue_deleted_in_jira_becomes_a_new_issue(
    instance: Instance, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    first = deliver(mail())
    assert first.issue_key == "SUP-1"
    delete_in_jira(fake, instance, "SUP-1")
    reply = deliver(mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, "SUP-1")}))
    assert (reply.outcome, reply.issue_key) == ("created", "SUP-2")
    assert "refers to SUP-1, which the tracker does not have" in reasons(reply)


def test_an_issue_deleted_between_association_and_comment_becomes_a_new_issue(
    instance: Instance, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    deliver(mail())
    fake.inject("addComment", status=404)  # deleted just before the comment is written
    reply = deliver(mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, "SUP-1")}))
    assert (reply.outcome, reply.issue_key) == ("created", "SUP-2")
    assert "instead of commenting: SUP-1 no longer exists in the tracker" in reply.report["reason"]


def test_a_comment_only_mapping_does_not_create_for_a_deleted_issue(
    instance: Instance, profile: Profile, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    deliver(mail())
    delete_in_jira(fake, instance, "SUP-1")
    ProjectMapping.objects.filter(profile=profile).update(operating_mode="comment_only")
    profile.save()  # a new profile version
    reply = deliver(mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, "SUP-1")}))
    assert reply.outcome == "rejected" and not fake.state.issue("SUP-2")
    assert "refers to SUP-1" in reply.report["reason"]


def test_a_comment_only_mapping_does_not_create_for_an_issue_deleted_without_a_webhook(
    instance: Instance, profile: Profile, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    """Regression: the kept issue state still names the deleted issue; the comment's 404 finds out."""
    deliver(mail())
    fake.state.delete_issue("SUP-1")  # no webhook tells us
    ProjectMapping.objects.filter(profile=profile).update(operating_mode="comment_only")
    profile.save()
    reply = deliver(mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, "SUP-1")}))
    assert reply.outcome == "rejected" and not fake.state.issue("SUP-2")
    assert "SUP-1 no longer exists in the tracker" in reply.report["reason"]


@pytest.mark.parametrize("fake", ["cloud"], indirect=True)  # only Jira Cloud lets users hide their address
@pytest.mark.parametrize("found_without_address", [False, True], ids=["no-match", "match-without-address"])
def test_a_cloud_sender_hiding_their_address_is_email_only_with_the_reason(
    fake: FakeJira, deliver: Callable[..., InboundMessage], found_without_address: bool
) -> None:
    shy = fake.state.add_user("shy", "shy@customer.example", "Shy Person")
    shy.hide_email = True
    fake.hidden_addresses_match = found_without_address
    message = deliver(mail(sender="Shy Person <shy@customer.example>"))
    assert message.outcome == "created"
    users = next(step for step in message.report["steps"] if step["step"] == "users")
    assert "email-only" in users["reason"] and "privacy setting" in users["reason"]
    if found_without_address:
        assert "found an account for this address whose owner's privacy setting hides" in users["reason"]
    (issue,) = fake.state.issues.values()
    assert issue.fields[field_id(fake, "Email Sender Address")] == "shy@customer.example"
    assert "reporter" not in issue.fields or issue.fields["reporter"] != shy.account_id
