"""inbound.services, what the audit's read side (auditing) calls: finding audited messages by their encrypted
fields, making a test case from one, processing failed ones again; and the audit admin's actions built on them."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from inbound import services
from inbound.models import InboundMessage, InboundStatus, Source, SourceKind
from inbound.pipeline.service import process_inbound
from inbound.pipeline.testcases import record_test_message
from jemh.models import Instance
from jemh.storage import blob_storage
from profiles.models import Profile, ProjectMapping, TestCase
from tests.pipeline.conftest import DEFAULT_MAPPING, mail

pytestmark = pytest.mark.django_db


def second_profile(instance: Instance) -> Profile:
    other = Profile.objects.create(instance=instance, name="Billing")
    ProjectMapping.objects.create(profile=other, **{**DEFAULT_MAPPING, "project_key": "BIL"})
    return other


def test_search_finds_by_audit_id_sender_or_message_id_exactly(instance: Instance) -> None:
    ann = record_test_message(
        instance.pk, mail(sender="Ann <ann@customer.example>", message_id="<one@customer.example>")
    )
    bob = record_test_message(instance.pk, mail(sender="bob@customer.example", message_id="<two@customer.example>"))
    everything = InboundMessage.objects.all()

    def found(term: str) -> set[int]:
        return set(services.search_messages(everything, term).values_list("pk", flat=True))

    assert found(str(ann.pk)) == {ann.pk}
    assert found(" ANN@Customer.Example ") == {ann.pk}  # addresses are compared case-insensitively
    assert found("<two@customer.example>") == found("two@customer.example") == {bob.pk}
    assert found("") == {ann.pk, bob.pk}
    assert found("ann@customer") == set()  # exactly: a keyed hash matches whole values only
    assert not services.search_messages(everything.exclude(pk=bob.pk), "bob@customer.example").exists()  # within


def test_make_test_case_for_the_instances_only_profile(instance: Instance, profile: Profile) -> None:
    raw = mail(subject="Printer on fire")
    message = record_test_message(instance.pk, raw)
    made, note = services.make_test_case(message)
    case = TestCase.objects.get()
    assert made and note == f"inbound #{message.pk}: test case {case.pk} made for profile Support"
    assert case.profile == profile and case.raw_bytes == raw == blob_storage().read_bytes(message.raw_blob)
    # regression: the name held the subject in clear (privacy.md: subjects are encrypted)
    named = (
        f"From inbound #{message.pk} ({message.received_at:%Y-%m-%d %H:%M} UTC, {message.outcome or message.status})"
    )
    assert case.name == named
    assert "Printer" not in case.name


def test_make_test_case_for_the_sources_profile(instance: Instance, profile: Profile) -> None:
    billing = second_profile(instance)
    source = Source.objects.create(instance=instance, name="billing", kind=SourceKind.PIPE, profile=billing)
    message = record_test_message(instance.pk, mail())
    InboundMessage.objects.filter(pk=message.pk).update(source=source)
    message.refresh_from_db()
    made, _ = services.make_test_case(message)
    assert made and TestCase.objects.get().profile == billing


def test_make_test_case_refuses_without_raw_mail_or_a_profile(instance: Instance, profile: Profile) -> None:
    purged = record_test_message(instance.pk, mail())
    purged.raw_blob = ""
    assert services.make_test_case(purged) == (
        False,
        f"inbound #{purged.pk}: the raw message is not stored (purged, or the instance keeps none)",
    )
    second_profile(instance)
    unsure = record_test_message(instance.pk, mail())
    assert services.make_test_case(unsure) == (
        False,
        f"inbound #{unsure.pk}: its source has no profile; make the test case by hand",
    )
    assert not TestCase.objects.exists()


def test_process_again_takes_only_failed_or_errored_messages(instance: Instance, profile: Profile) -> None:
    other = second_profile(instance)
    errored = record_test_message(instance.pk, mail(subject="Which profile?"))
    assert process_inbound(errored.pk) == "error"  # two enabled profiles, and no source to choose
    done = record_test_message(instance.pk, mail(subject="Done"))
    assert process_inbound(done.pk, profile_id=profile.pk) == "created"
    done.refresh_from_db()
    other.enabled = False
    other.save()
    assert services.process_again(InboundMessage.objects.filter(pk__in=[errored.pk, done.pk])) == 1
    errored.refresh_from_db()
    assert errored.status == InboundStatus.PROCESSED and errored.outcome == "created"
    assert errored.report["attempts"] == 2
    assert InboundMessage.objects.get(pk=done.pk).processed_at == done.processed_at  # left as it was


def test_audit_admin_actions(admin_client: Any, instance: Instance, profile: Profile) -> None:
    other = second_profile(instance)
    errored = record_test_message(instance.pk, mail(subject="Which profile?"))
    assert process_inbound(errored.pk) == "error"
    other.enabled = False
    other.save()
    url = reverse("admin:inbound_inboundmessage_changelist")
    form = {"_selected_action": [errored.pk], "index": 0, "select_across": 0}
    again = admin_client.post(url, {"action": "process_again", **form}, follow=True).content.decode()
    assert "1 message(s) processed again; others were left as they are." in again
    assert InboundMessage.objects.get(pk=errored.pk).outcome == "created"
    made = admin_client.post(url, {"action": "make_test_case", **form}, follow=True).content.decode()
    case = TestCase.objects.get()
    assert f"Inbound #{errored.pk}: test case {case.pk} made for profile Support" in made  # (the admin capitalises)
