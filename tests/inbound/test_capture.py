"""Capture: encrypted blob, then the audit row, idempotent on every dedupe key."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.capture import Incoming, StoreError, capture, capture_batch, capture_oversized, record_without_source
from inbound.models import InboundMessage, InboundStatus, Outcome, Source, SourceKind, SourceReceipt
from inbound.signals import messages_captured
from jemh.crypto import keyed_hash
from jemh.storage import blob_storage
from tests.inbound.conftest import make_message


@pytest.fixture()
def pipe(instance: Any) -> Source:
    return Source.objects.create(instance=instance, name="pipe", kind=SourceKind.PIPE)


def test_capture_stores_encrypted_blob_and_audit_row(pipe: Source, blobs_in_tmp: Any) -> None:
    raw = make_message(
        subject="Disk full",
        message_id="<one@example.test>",
        extra={"Cc": "ops@example.test", "Delivered-To": "help@example.test"},
    )
    result = capture(pipe, raw, key="k1")
    assert result.new and not result.duplicate
    row = InboundMessage.objects.get(pk=result.message.pk)
    assert (row.subject, row.sender, row.message_id) == ("Disk full", "alice@example.test", "one@example.test")
    assert row.recipients == {
        "To": ["support@example.test"],
        "Cc": ["ops@example.test"],
        "Delivered-To": ["help@example.test"],
    }
    assert row.sender_hash == keyed_hash("alice@example.test", purpose="address")
    assert (row.status, row.outcome, row.size, row.instance_id) == (
        InboundStatus.RECEIVED,
        "",
        len(raw),
        pipe.instance_id,
    )
    assert not row.raw_retained_until_processed
    assert blob_storage().read_bytes(row.raw_blob) == raw
    on_disk = (blobs_in_tmp / row.raw_blob).read_bytes()
    assert b"Disk full" not in on_disk and b"alice@example.test" not in on_disk
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT subject, sender, recipients FROM auditing_inboundmessage WHERE id = %s", [row.pk])
        stored = " ".join(cursor.fetchone())
    assert "Disk full" not in stored and "alice" not in stored


def test_same_key_twice_is_captured_once(pipe: Source) -> None:
    raw = make_message()
    first, second = capture(pipe, raw, key="k1"), capture(pipe, raw, key="k1")
    assert first.new and not second.new and second.message.pk == first.message.pk
    assert InboundMessage.objects.count() == 1 and SourceReceipt.objects.count() == 1


def test_same_message_id_is_a_counted_duplicate(pipe: Source, instance: Any) -> None:
    other = Source.objects.create(instance=instance, name="other", kind=SourceKind.PIPE)
    first = capture(pipe, make_message(message_id="<dup@example.test>"), key="a")
    copy = capture(other, make_message(message_id="<dup@example.test>", to="sales@example.test"), key="b")
    assert copy.duplicate and not copy.new and copy.message.pk == first.message.pk
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().duplicate_copies == 1
    assert SourceReceipt.objects.get(source=other, key="b").message_id == first.message.pk


def test_mail_without_message_id_is_recognised_by_content(pipe: Source) -> None:
    raw = make_message(message_id=None)
    assert capture(pipe, raw).new
    again = capture(pipe, raw)  # e.g. the MTA retried after we had recorded it
    assert again.duplicate and InboundMessage.objects.count() == 1
    assert capture(pipe, make_message(message_id=None, body="different")).new


def test_duplicates_inside_one_batch(pipe: Source) -> None:
    raw = make_message(message_id="<same@example.test>")
    results = capture_batch(pipe, [Incoming(raw, key="1"), Incoming(raw, key="2"), Incoming(make_message(), key="3")])
    assert [r.new for r in results] == [True, False, True]
    assert results[1].duplicate and results[1].message.pk == results[0].message.pk
    assert InboundMessage.objects.count() == 2 and SourceReceipt.objects.count() == 3


def test_opted_out_instance_keeps_blob_only_until_processed(pipe: Source, instance: Any) -> None:
    instance.store_raw_mail = False
    instance.save()
    row = capture(Source.objects.get(pk=pipe.pk), make_message()).message
    assert row.raw_blob and row.raw_retained_until_processed
    assert blob_storage().exists(row.raw_blob)


def test_oversized_mail_recorded_from_headers_and_rejected(pipe: Source) -> None:
    headers = make_message(subject="Huge scan").split(b"\r\n\r\n")[0] + b"\r\n"
    result = capture_oversized(pipe, headers, size=40_000_000, key="big")
    row = InboundMessage.objects.get(pk=result.message.pk)
    assert (row.status, row.outcome, row.size, row.subject) == (
        InboundStatus.PROCESSED,
        Outcome.REJECTED,
        40_000_000,
        "Huge scan",
    )
    assert row.report["rejected_reason"] == "too large" and row.processed_at is not None
    assert row.report["steps"][0]["verdict"] == "rejected"
    assert blob_storage().read_bytes(row.raw_blob) == headers
    assert not capture_oversized(pipe, headers, size=40_000_000, key="big").new


def test_signal_sent_on_commit_only_for_mail_to_process(pipe: Source, django_capture_on_commit_callbacks) -> None:
    received: list[int] = []

    def listener(sender: Any, messages: list[InboundMessage], **kwargs: Any) -> None:
        received.extend(message.pk for message in messages)

    messages_captured.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            row = capture(pipe, make_message()).message
            capture_oversized(pipe, b"Subject: big\r\n", size=10**9)
            capture(pipe, make_message(message_id=row.message_id and f"<{row.message_id}>"))
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
        assert received == [row.pk]
    finally:
        messages_captured.disconnect(listener)


def test_storage_failure_records_nothing(pipe: Source, settings: Any, tmp_path: Any) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the blob directory should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "jemh.storage.EncryptedStorage",
            "OPTIONS": {
                "backend": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(blocked)},
                }
            },
        },
    }
    with pytest.raises(StoreError, match="could not store the raw mail"):
        capture(pipe, make_message(), key="k")
    assert not InboundMessage.objects.exists() and not SourceReceipt.objects.exists()


def test_malformed_mail_still_gets_its_audit_row(pipe: Source) -> None:
    raw = b"\xff\xfe\x00 not mail at all \x00" * 100
    row = capture(pipe, raw).message
    assert row.pk and row.status == InboundStatus.RECEIVED and row.size == len(raw)
    assert blob_storage().read_bytes(row.raw_blob) == raw


AUDIT_FACTS = (
    "instance_id",
    "message_id",
    "message_id_hash",
    "content_hash",
    "subject",
    "sender",
    "sender_hash",
    "recipients",
    "size",
    "status",
    "report",
    "raw_retained_until_processed",
)


def test_a_test_message_is_recorded_as_capture_records_mail(pipe: Source, instance: Any) -> None:
    # Test cases used to build their audit row with a copy of capture's code, which had drifted (no content hash).
    raw = make_message(subject="Same facts", message_id="<same@example.test>", extra={"Cc": "ops@example.test"})
    captured = capture(pipe, raw).message
    recorded = record_without_source(instance.pk, raw)
    assert recorded.pk != captured.pk and recorded.source is None
    assert {f: getattr(recorded, f) for f in AUDIT_FACTS} == {f: getattr(captured, f) for f in AUDIT_FACTS}
    assert recorded.raw_blob.startswith("inbound/test-cases/")
    assert blob_storage().read_bytes(recorded.raw_blob) == raw
    assert InboundMessage.objects.get(pk=recorded.pk).subject == "Same facts"


def test_test_messages_are_never_deduplicated(instance: Any) -> None:
    raw = make_message(message_id="<again@example.test>")
    first, second = record_without_source(instance.pk, raw), record_without_source(instance.pk, raw)
    assert first.pk != second.pk and first.raw_blob != second.raw_blob
    assert InboundMessage.objects.filter(duplicate_copies=0).count() == 2


def test_a_test_message_follows_the_instances_raw_mail_choice(instance: Any) -> None:
    instance.store_raw_mail = False
    instance.save()
    assert record_without_source(instance.pk, make_message()).raw_retained_until_processed


def test_raw_mail_is_flushed_to_disk_before_its_row_is_committed(
    pipe: Source, blobs_in_tmp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine's crash (power loss) right after the commit must not leave rows whose mail never reached the disk:
    every blob of a batch is fdatasync'ed, and each folder holding one fsync'ed, before the rows exist."""
    import os

    flushed: list[tuple[str, str]] = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync

    def spy(kind: str, real: Any) -> Any:
        def flush(fd: int) -> None:
            assert not InboundMessage.objects.exists(), "flushed after the rows were written"
            flushed.append((kind, os.readlink(f"/proc/self/fd/{fd}")))
            real(fd)

        return flush

    monkeypatch.setattr(os, "fdatasync", spy("data", real_fdatasync))
    monkeypatch.setattr(os, "fsync", spy("all", real_fsync))
    items = [Incoming(raw=make_message(message_id=f"<flush-{n}@example.test>"), key=f"k{n}") for n in range(3)]
    results = capture_batch(pipe, items)
    paths = {str(blobs_in_tmp / r.message.raw_blob) for r in results}
    assert len(paths) == 3
    assert {path for kind, path in flushed if kind == "data"} == paths
    assert {path for kind, path in flushed if kind == "all"} == {os.path.dirname(p) for p in paths}
    assert [kind for kind, _ in flushed] == ["data"] * 3 + ["all"] * len({os.path.dirname(p) for p in paths})


def test_a_blob_that_cannot_be_flushed_is_not_recorded(
    pipe: Source, blobs_in_tmp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    with pytest.raises(StoreError, match="durably"):
        capture(pipe, make_message(message_id="<eio@example.test>"), key="k-eio")
    assert not InboundMessage.objects.exists() and not SourceReceipt.objects.exists()
    assert not [p for p in blobs_in_tmp.rglob("*") if p.is_file()], "the unrecorded blob is left behind"
