"""Flagging for support in the admin: its own permission, a required reason, the three snapshots taken at flagging
time (stored encrypted), unflagging, expiry (per instance), the record of each, and the "flagged for support" list."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from auditing.flags import CannotFlag, flag_message, record_expiries, shared, unflag
from auditing.models import FlagEventKind, SupportFlag
from auditing.tasks import expire_support_flags
from inbound.models import InboundMessage
from jemh import crypto
from jemh.models import Instance
from jemh.storage import blob_storage
from profiles.models import Profile
from tests.auditing.conftest import hostile_mail, staff_user, support_user

pytestmark = pytest.mark.django_db
FLAGGER_PERMISSIONS = ("inbound.view_inboundmessage", "auditing.flag_for_support")
LIST = reverse("admin:inbound_inboundmessage_changelist")


@pytest.fixture()
def message(deliver: Callable[..., InboundMessage]) -> InboundMessage:
    return deliver(hostile_mail())


@pytest.fixture()
def flagger(client: Client, instance: Any) -> Client:
    client.force_login(staff_user("fran", *FLAGGER_PERMISSIONS))  # a member of the instance (made first)
    return client


def flag_url(message: InboundMessage) -> str:
    return reverse("admin:inbound_inboundmessage_flag", args=[message.pk])


def test_flagging_needs_its_own_permission(client: Client, message: InboundMessage) -> None:
    client.force_login(staff_user("viewer", "inbound.view_inboundmessage"))
    assert client.get(flag_url(message)).status_code == 403
    assert client.post(flag_url(message), {"reason": "look"}).status_code == 403
    response = client.post(LIST, {"action": "flag_for_support", ACTION_CHECKBOX_NAME: [message.pk], "apply": "1"})
    assert not SupportFlag.objects.exists()
    assert response.status_code in (200, 302)
    page = client.get(LIST).content.decode()
    assert "flag_for_support" not in page  # the action is not offered without the permission
    assert (
        "Flag for support"
        not in client.get(reverse("admin:inbound_inboundmessage_change", args=[message.pk])).content.decode()
    )


def test_a_reason_is_required(flagger: Client, message: InboundMessage) -> None:
    response = flagger.post(flag_url(message), {"reason": "   "})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not SupportFlag.objects.exists()
    with pytest.raises(CannotFlag):
        flag_message(message, "", None)


def test_flag_snapshots_the_mail_the_report_and_the_profile_export_encrypted(
    flagger: Client, message: InboundMessage, profile: Profile, blob_root: Path
) -> None:
    response = flagger.post(flag_url(message), {"reason": "Why was this a new issue?"})
    assert response.status_code == 302
    flag = SupportFlag.objects.get()
    assert flag.reason == "Why was this a new issue?" and flag.flagged_by_name == "fran"
    assert flag.instance_id == message.instance_id and flag.outcome == message.outcome == "created"
    assert abs(flag.expires_at - (flag.flagged_at + timedelta(days=30))) < timedelta(seconds=1)
    assert [event.kind for event in flag.events.all()] == [FlagEventKind.FLAGGED]
    snapshot = shared(flag)
    assert snapshot.raw == blob_storage().read_bytes(message.raw_blob)
    assert snapshot.report == message.report and snapshot.report["outcome"] == "created"
    assert snapshot.profile["profile"]["name"] == profile.name == flag.profile_name
    for name in flag.blobs:  # stored encrypted, as capture stores raw mail
        stored = (blob_root / name).read_bytes()
        assert stored.startswith(crypto.BLOB_MAGIC) and b"printer" not in stored and b"reply_address" not in stored

    # Fixed at flagging time: later changes to the message and the profile do not reach the snapshots.
    Profile.objects.filter(pk=profile.pk).update(name="Renamed desk")
    InboundMessage.objects.filter(pk=message.pk).update(report={"outcome": "dropped"})
    later = shared(flag)
    assert later.report["outcome"] == "created" and later.profile["profile"]["name"] == "Support"


def test_flag_action_from_the_list_asks_for_a_reason(
    flagger: Client, message: InboundMessage, deliver: Callable[..., InboundMessage]
) -> None:
    other = deliver(hostile_mail("Another fire"))
    chosen = {"action": "flag_for_support", ACTION_CHECKBOX_NAME: [message.pk, other.pk]}
    page = flagger.post(LIST, chosen)
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert not SupportFlag.objects.exists()
    done = flagger.post(LIST, {**chosen, "apply": "1", "reason": "Both went wrong"})
    assert done.status_code == 302
    assert set(SupportFlag.objects.values_list("message_id", flat=True)) == {message.pk, other.pk}


def test_mail_not_kept_cannot_be_flagged(flagger: Client, message: InboundMessage) -> None:
    InboundMessage.objects.filter(pk=message.pk).update(raw_blob="")
    flagger.post(flag_url(message), {"reason": "look"})
    assert not SupportFlag.objects.exists()


def test_unflag_withdraws_records_and_deletes_the_snapshots(flagger: Client, message: InboundMessage) -> None:
    flagger.post(flag_url(message), {"reason": "look"})
    flag = SupportFlag.objects.get()
    blobs = flag.blobs
    assert len(blobs) == 3 and all(blob_storage().exists(name) for name in blobs)
    change = reverse("admin:inbound_inboundmessage_change", args=[message.pk])
    page = flagger.get(change).content.decode()
    assert "look" in page and "active" in page and "Unflag" in page
    unflag_url = reverse("admin:inbound_inboundmessage_unflag", args=[message.pk, flag.pk])
    assert flagger.get(unflag_url).status_code == 405  # POST only
    assert flagger.post(unflag_url).status_code == 302
    flag.refresh_from_db()
    assert flag.state == "withdrawn" and flag.withdrawn_by_name == "fran"
    assert [e.kind for e in flag.events.all()] == [FlagEventKind.FLAGGED, FlagEventKind.UNFLAGGED]
    assert not any(blob_storage().exists(name) for name in blobs)
    assert not SupportFlag.objects.active().exists()
    assert unflag(flag, None) is False  # already ended: nothing recorded twice
    assert flag.events.count() == 2


def test_flags_expire_after_the_instances_days_and_expiry_is_recorded(
    flagger: Client, message: InboundMessage, instance: Instance
) -> None:
    Instance.objects.filter(pk=instance.pk).update(support_flag_days=2)
    message.instance.refresh_from_db()
    flag = flag_message(message, "two days only", staff_user("other"))
    assert abs(flag.expires_at - flag.flagged_at - timedelta(days=2)) < timedelta(seconds=1)
    assert record_expiries() == 0 and SupportFlag.objects.active().count() == 1
    SupportFlag.objects.filter(pk=flag.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not SupportFlag.objects.active().exists()  # access ends at the date, before any task runs
    assert expire_support_flags() == 1
    assert expire_support_flags() == 0  # idempotent
    flag.refresh_from_db()
    assert flag.state == "expired" and flag.expiry_recorded_at is not None
    assert [e.kind for e in flag.events.all()] == [FlagEventKind.FLAGGED, FlagEventKind.EXPIRED]
    assert not any(blob_storage().exists(name) for name in flag.blobs)


def test_flagged_for_support_list_and_withdraw_action(flagger: Client, message: InboundMessage) -> None:
    flagger.post(flag_url(message), {"reason": "Look at the routing"})
    flagger.force_login(
        staff_user("lister", "auditing.view_supportflag", "auditing.flag_for_support", "inbound.view_inboundmessage")
    )
    listing = reverse("admin:auditing_supportflag_changelist")
    page = flagger.get(listing).content.decode()
    assert "Look at the routing" in page and f"inbound #{message.pk}" in page and "active" in page
    assert flagger.get(listing, {"state": "withdrawn"}).context["cl"].result_list.count() == 0
    flag = SupportFlag.objects.get()
    flagger.post(listing, {"action": "withdraw", ACTION_CHECKBOX_NAME: [flag.pk]})
    assert SupportFlag.objects.get().state == "withdrawn"
    assert [f.pk for f in flagger.get(listing, {"state": "withdrawn"}).context["cl"].result_list] == [flag.pk]


def test_deleting_the_message_deletes_the_flag_snapshots(
    message: InboundMessage, django_capture_on_commit_callbacks
) -> None:
    flag = flag_message(message, "look", staff_user("other"))
    with django_capture_on_commit_callbacks(execute=True):
        InboundMessage.objects.filter(pk=message.pk).delete()
    assert not SupportFlag.objects.exists()
    assert not any(blob_storage().exists(name) for name in flag.blobs)


def test_report_snapshot_is_json(message: InboundMessage) -> None:
    flag = flag_message(message, "look", staff_user("other"))
    assert json.loads(blob_storage().read_bytes(flag.report_blob)) == message.report


def test_snapshots_in_real_s3_are_encrypted_served_and_deleted_on_unflag(
    blobs_in_swift: str, swift: Any, deliver: Callable[..., InboundMessage], client: Client
) -> None:
    message = deliver(hostile_mail("Stored in S3"))
    flag = flag_message(message, "look in S3", None)
    keys = {o["Key"] for o in swift.client().list_objects_v2(Bucket=blobs_in_swift)["Contents"]}
    assert set(flag.blobs) <= keys
    for name in flag.blobs:
        sealed = swift.client().get_object(Bucket=blobs_in_swift, Key=name)["Body"].read()
        assert sealed.startswith(crypto.BLOB_MAGIC) and b"Stored in S3" not in sealed
    client.force_login(support_user("sam"))
    eml = client.get(reverse("support:eml", args=[flag.pk]))
    assert eml.status_code == 200 and b"Subject: Stored in S3" in eml.content
    unflag(flag, None)
    left = {o["Key"] for o in swift.client().list_objects_v2(Bucket=blobs_in_swift).get("Contents", [])}
    assert not set(flag.blobs) & left
    assert client.get(reverse("support:eml", args=[flag.pk])).status_code == 404
