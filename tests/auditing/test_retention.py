"""The retention purge (auditing.retention, inbound.retention): privacy.md's "default retention" column made true
for inbound mail, with orphan blobs, dry runs, the PurgeRun record and the ``jemh purge`` command."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from auditing.models import PurgeRun
from auditing.retention import last_purge, purge, purge_orphan_blobs
from inbound.models import InboundMessage, InboundStatus
from inbound.retention import raw_kept_until
from jemh.storage import blob_storage

pytestmark = pytest.mark.django_db


def mail(n: int) -> bytes:
    return (
        f"From: customer{n}@example.org\r\nTo: support@example.com\r\nSubject: Request {n}\r\n"
        f"Message-ID: <retention-{n}@example.org>\r\n\r\nPlease help ({n}).\r\n"
    ).encode()


@pytest.fixture()
def aged(deliver: Callable[..., InboundMessage]) -> Callable[..., InboundMessage]:
    """A processed message, then made ``days`` old and given ``status``."""
    made = iter(range(1, 1000))

    def run(days: float, status: str = InboundStatus.PROCESSED) -> InboundMessage:
        message = deliver(mail(next(made)))
        if not message.raw_blob:  # processing may discard it (an instance that keeps no raw mail)
            message.raw_blob = blob_storage().save_bytes(f"inbound/{message.instance_id}/old/{message.pk}.eml", b"x")
        when = timezone.now() - timedelta(days=days)
        InboundMessage.objects.filter(pk=message.pk).update(received_at=when, status=status, raw_blob=message.raw_blob)
        message.refresh_from_db()
        return message

    return run


def exists(name: str) -> bool:
    return bool(name) and blob_storage().exists(name)


def test_raw_mail_goes_after_its_retention_and_the_row_after_its_own(aged: Callable[..., InboundMessage]) -> None:
    fresh, raw_old, row_old = aged(1), aged(31), aged(29)
    InboundMessage.objects.filter(pk=row_old.pk).update(received_at=timezone.now() - timedelta(days=40))
    instance = fresh.instance
    instance.audit_retention_days = 35
    instance.save()
    report = purge()
    counts = report[instance.name]
    assert counts["raw_mail"] == 1 and counts["audit_rows"] == 1
    fresh.refresh_from_db()
    raw_old.refresh_from_db()
    assert exists(fresh.raw_blob)  # within both retentions: untouched
    assert raw_old.raw_blob == "" and InboundMessage.objects.filter(pk=raw_old.pk).exists()  # the row stays
    assert not InboundMessage.objects.filter(pk=row_old.pk).exists()
    assert not exists(row_old.raw_blob)  # its mail went with it
    assert purge()[instance.name].total() == 0  # idempotent: nothing left to do


def test_waiting_and_failed_mail_is_kept(aged: Callable[..., InboundMessage]) -> None:
    received = aged(400, InboundStatus.RECEIVED)
    processing = aged(400, InboundStatus.PROCESSING)
    failed = aged(60, InboundStatus.FAILED)  # past the raw and audit retention, within failure retention (90)
    error = aged(60, InboundStatus.ERROR)
    old_error = aged(91, InboundStatus.ERROR)
    purge()
    for message in (received, processing, failed):
        message.refresh_from_db()
        assert exists(message.raw_blob), message.status  # still to be processed: its mail stays
    error.refresh_from_db()
    assert error.raw_blob == "" and not exists(InboundMessage.objects.get(pk=error.pk).raw_blob)
    assert not InboundMessage.objects.filter(pk=old_error.pk).exists()
    assert raw_kept_until(failed.instance, failed) == failed.received_at + timedelta(days=90)


def test_a_dry_run_counts_and_removes_nothing(aged: Callable[..., InboundMessage]) -> None:
    old = aged(45)
    raw_only = aged(31)
    instance = old.instance
    instance.audit_retention_days = 40
    instance.save()
    out, err = io.StringIO(), io.StringIO()
    call_command("jemh", "purge", "--dry-run", stdout=out, stderr=err)
    assert f"{instance.name}: would remove 1 audit rows, 1 raw mail" in out.getvalue()
    assert "orphan blobs" in err.getvalue()  # progress
    assert exists(old.raw_blob) and exists(raw_only.raw_blob) and not PurgeRun.objects.exists()
    call_command("jemh", "purge", stdout=out, stderr=err)
    assert f"{instance.name}: removed 1 audit rows, 1 raw mail" in out.getvalue()
    run = PurgeRun.objects.get()
    assert run.counts["audit_rows"] == 1 and run.counts["raw_mail"] == 1
    assert "removed 1 audit rows, 1 raw mail" in last_purge(instance)


def test_orphan_blobs_older_than_a_day_go(aged: Callable[..., InboundMessage]) -> None:
    kept = aged(1)
    storage = blob_storage()
    orphan = storage.save_bytes(f"inbound/{kept.instance_id}/2020/01/01/orphan.eml", b"left by a crash")
    young = storage.save_bytes(f"inbound/{kept.instance_id}/2020/01/02/young.eml", b"being captured")
    other = storage.save_bytes("elsewhere/not-ours.bin", b"not a folder the purge knows")
    later = timezone.now() + timedelta(hours=25)
    # the young one is only an hour "old" at that time: made now, checked as if a day passed for the other
    assert purge_orphan_blobs(now=later, dry_run=True)["orphan_blobs"] >= 2
    counts = purge_orphan_blobs(now=timezone.now() + timedelta(hours=25))
    assert not exists(orphan) and exists(kept.raw_blob) and exists(other)
    assert counts["orphan_blobs"] >= 2 and not exists(young)  # both older than a day by then
    storage.delete(other)


def test_the_instance_page_shows_the_last_purge(admin_client: Any, aged: Callable[..., InboundMessage]) -> None:
    message = aged(1)
    page = admin_client.get(f"/admin/jemh/instance/{message.instance_id}/change/")
    assert "Last purge: never" in page.content.decode()
    purge()
    page = admin_client.get(f"/admin/jemh/instance/{message.instance_id}/change/")
    assert "Last purge: " in page.content.decode() and "removed nothing" in page.content.decode()


def test_a_message_shared_with_support_stays_until_its_flag_ends(
    aged: Callable[..., InboundMessage], admin_user: Any
) -> None:
    from auditing.flags import flag_message, unflag

    message = aged(45)
    flag = flag_message(message, "customer says the reply was lost", admin_user)
    purge()
    message.refresh_from_db()  # still there, with its raw mail: support is looking at it
    assert exists(message.raw_blob)
    unflag(flag, admin_user)
    purge()
    assert not InboundMessage.objects.filter(pk=message.pk).exists()


def test_hint_slots_go_after_the_audit_retention_unless_a_grace_period_still_needs_them(
    instance: Any, profile: Any
) -> None:
    from inbound.models import HintGrace
    from profiles.models import Profile

    assert profile.instance_id == instance.pk

    now = timezone.now()

    def slot(days: float, reason: str) -> HintGrace:
        return HintGrace.objects.create(
            instance=instance, recipient_hash="a" * 64, reason=reason, sent_at=now - timedelta(days=days)
        )

    old, recent, long_grace = slot(31, "old"), slot(2, "recent"), slot(40, "long-grace")
    assert purge(dry_run=True)[instance.name]["hint_slots"] == 2
    assert set(HintGrace.objects.values_list("reason", flat=True)) == {"old", "recent", "long-grace"}
    Profile.objects.filter(instance=instance).update(hint_grace_hours=24)
    report = purge()
    assert report[instance.name]["hint_slots"] == 2
    assert list(HintGrace.objects.values_list("pk", flat=True)) == [recent.pk]
    # a grace period longer than the retention keeps its slots as long as it lasts
    kept = slot(35, "inside a 45-day grace")
    Profile.objects.filter(instance=instance).update(hint_grace_hours=45 * 24)
    assert purge()[instance.name]["hint_slots"] == 0
    assert HintGrace.objects.filter(pk=kept.pk).exists()
    assert not HintGrace.objects.filter(pk__in=[old.pk, long_grace.pk]).exists()


def test_stored_webhook_deliveries_past_retention_go_with_the_purge(instance: Any) -> None:
    from notifications.choices import DeliveryStatus
    from notifications.models import WebhookDelivery

    past = timezone.now() - timedelta(days=8)
    expired = WebhookDelivery.objects.create(
        instance=instance, body_hash="1" * 64, status=DeliveryStatus.PROCESSED, received_at=past
    )
    waiting = WebhookDelivery.objects.create(
        instance=instance, body_hash="2" * 64, status=DeliveryStatus.RECEIVED, received_at=past, body="{}"
    )
    fresh = WebhookDelivery.objects.create(instance=instance, body_hash="3" * 64, status=DeliveryStatus.DROPPED)
    assert purge(dry_run=True)["outbound mail and issue events"]["webhook_deliveries"] == 1
    assert WebhookDelivery.objects.filter(pk=expired.pk).exists()
    assert purge()["outbound mail and issue events"]["webhook_deliveries"] == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {waiting.pk, fresh.pk}
