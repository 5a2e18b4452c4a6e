"""IMAP retrieval against a real Dovecot: capture, re-poll, read strategies, UIDVALIDITY, size limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inbound.models import InboundMessage, InboundStatus, Outcome, ReadStrategy, Source, SourceReceipt
from inbound.retrieval import acquire_lease, check_connection, poll, release_lease
from jemh import crypto
from jemh.storage import blob_storage
from tests.inbound.conftest import Mailbox, make_message

pytestmark = pytest.mark.django_db


def captured_bodies(source: Source) -> list[bytes]:
    return [blob_storage().read_bytes(m.raw_blob) for m in InboundMessage.objects.filter(source=source).order_by("pk")]


def test_capture_then_repoll_finds_nothing_new(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    messages = [make_message(subject=f"Ticket {i}") for i in range(3)]
    mailbox.append(*messages)
    source = make_source()
    first = poll(source)
    assert (first.status, first.captured, first.acknowledged) == ("ok", 3, 3), first.detail
    assert captured_bodies(source) == messages
    assert [m.subject for m in InboundMessage.objects.order_by("pk")] == ["Ticket 0", "Ticket 1", "Ticket 2"]
    assert mailbox.uids(criteria="UNSEEN") == []  # mark read (the default)
    assert mailbox.uids() != []  # ... and left in place
    again = poll(source)
    assert (again.status, again.captured, again.acknowledged) == ("ok", 0, 0)
    assert InboundMessage.objects.count() == 3
    source.refresh_from_db()
    assert source.last_success_at and source.consecutive_failures == 0 and source.uidvalidity


def test_read_mail_is_not_taken_with_mark_read(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(subject="already read"), seen=True)
    mailbox.append(make_message(subject="new"))
    source = make_source()
    assert poll(source).captured == 1
    assert InboundMessage.objects.get().subject == "new"


def test_move_strategy_moves_captured_mail(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(), make_message())
    with mailbox.client() as client:
        client.create_folder("Processed")
    source = make_source(read_strategy=ReadStrategy.MOVE, move_to="Processed")
    result = poll(source)
    assert result.captured == 2, result.detail
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == 2
    assert poll(source).captured == 0


def test_move_to_missing_folder_fails_visibly_and_captures_once(
    mailbox: Mailbox, make_source: Callable[..., Source]
) -> None:
    mailbox.append(make_message())
    source = make_source(read_strategy=ReadStrategy.MOVE, move_to="Nowhere")
    failed = poll(source)
    assert failed.status == "failed" and "Nowhere" in failed.detail
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and "Nowhere" in source.last_error
    assert InboundMessage.objects.count() == 1  # recorded before the mailbox was told
    with mailbox.client() as client:
        client.create_folder("Nowhere")
    fixed = poll(source, force=True)
    assert (fixed.status, fixed.captured, fixed.acknowledged) == ("ok", 0, 1)
    assert InboundMessage.objects.count() == 1 and len(mailbox.uids("Nowhere")) == 1


def test_delete_strategy_removes_captured_mail(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(), make_message(), seen=True)  # delete takes read mail too
    source = make_source(read_strategy=ReadStrategy.DELETE)
    assert poll(source).captured == 2
    assert mailbox.uids() == []
    assert len(captured_bodies(source)) == 2


def test_batch_limit_leaves_the_rest_for_the_next_poll(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(*[make_message(subject=f"m{i}") for i in range(5)])
    source = make_source(batch_limit=2)
    first = poll(source)
    assert (first.captured, first.more_pending) == (2, True)
    assert len(mailbox.uids(criteria="UNSEEN")) == 3
    assert poll(source).captured == 2 and poll(source).captured == 1
    assert sorted(m.subject for m in InboundMessage.objects.all()) == [f"m{i}" for i in range(5)]


def test_oversized_message_is_rejected_from_its_headers(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    big = make_message(subject="Scan", body="x" * 300_000)
    mailbox.append(make_message(subject="small"), big)
    source = make_source(max_message_size=100_000)
    result = poll(source)
    assert (result.captured, result.rejected_too_large) == (2, 1)
    rejected = InboundMessage.objects.get(outcome=Outcome.REJECTED)
    assert (rejected.subject, rejected.status, rejected.size) == ("Scan", InboundStatus.PROCESSED, len(big))
    stored = blob_storage().read_bytes(rejected.raw_blob)
    assert stored.startswith(b"From: ") and b"xxxx" not in stored  # headers only, body never fetched
    assert mailbox.uids(criteria="UNSEEN") == []  # taken: never fetched again
    assert poll(source).captured == 0


def test_uidvalidity_change_does_not_reimport_history(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    history = [
        make_message(subject="old 1"),
        make_message(subject="old 2"),
        make_message(subject="no id", message_id=None),
    ]
    mailbox.append(*history, folder="Support")
    source = make_source(folder="Support")
    assert poll(source).captured == 3
    source.refresh_from_db()
    old_validity = source.uidvalidity
    # The server renumbers the folder (recreated under the same name) and loses the \Seen flags.
    with mailbox.client() as client:
        client.create_folder("Support.tmp")
        client.select_folder("Support")
        client.copy(client.search("ALL"), "Support.tmp")
        client.close_folder()
        client.delete_folder("Support")
        client.rename_folder("Support.tmp", "Support")
        client.select_folder("Support")
        client.remove_flags(client.search("ALL"), [b"\\Seen"])
    mailbox.append(make_message(subject="really new"), folder="Support")
    result = poll(source)
    source.refresh_from_db()
    assert source.uidvalidity != old_validity
    assert (result.status, result.captured, result.duplicates) == ("ok", 1, 3), result.detail
    assert sorted(m.subject for m in InboundMessage.objects.all()) == ["no id", "old 1", "old 2", "really new"]
    assert all(m.duplicate_copies == 0 for m in InboundMessage.objects.all())  # re-sightings, not copies
    assert mailbox.uids("Support", "UNSEEN") == []
    assert poll(source).captured == 0


def test_never_two_polls_of_one_source_at_once(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message())
    source = make_source()
    token = acquire_lease(source.pk)
    assert token and acquire_lease(source.pk) is None
    skipped = poll(source, force=True)
    assert skipped.status == "skipped" and "another poll" in skipped.detail
    assert not InboundMessage.objects.exists()
    release_lease(source.pk, token)
    assert poll(source).captured == 1
    source.refresh_from_db()
    assert source.poll_lease_token == "" and source.poll_lease_until is None


def test_admin_save_does_not_clear_a_running_poll_lease(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    source = make_source()
    stale = Source.objects.get(pk=source.pk)
    token = acquire_lease(source.pk)
    stale.batch_limit = 7
    stale.save()  # as the admin form does, with a copy loaded before the poll began
    fresh = Source.objects.get(pk=source.pk)
    assert fresh.poll_lease_token == token and fresh.batch_limit == 7


def test_connection_test_reports_what_the_server_said(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message())
    ok, said = check_connection(make_source())
    assert ok and "1 messages" in said and "1 unread" in said and "Dovecot" in said
    ok, said = check_connection(make_source(password="wrong"))
    assert not ok and "login failed" in said and "Authentication failed" in said


def test_capture_with_blobs_in_real_s3(
    mailbox: Mailbox, make_source: Callable[..., Source], blobs_in_swift: str, swift: Any
) -> None:
    messages = [make_message(subject="to S3 one"), make_message(subject="to S3 two")]
    mailbox.append(*messages)
    source = make_source()
    assert poll(source).captured == 2
    assert captured_bodies(source) == messages
    objects = swift.client().list_objects_v2(Bucket=blobs_in_swift)["Contents"]
    assert len(objects) == 2
    sealed = swift.client().get_object(Bucket=blobs_in_swift, Key=objects[0]["Key"])["Body"].read()
    assert sealed.startswith(crypto.BLOB_MAGIC) and b"to S3" not in sealed
    assert SourceReceipt.objects.filter(source=source).count() == 2


def test_large_message_fetched_in_pieces_arrives_intact(
    mailbox: Mailbox, make_source: Callable[..., Source], monkeypatch: pytest.MonkeyPatch
) -> None:
    import inbound.sources.imap as imap

    monkeypatch.setattr(imap, "LARGE_MESSAGE", 10_000)
    monkeypatch.setattr(imap, "PIECE", 4096)
    large = make_message(subject="large", body="0123456789abcdef\r\n" * 3000)
    exact = make_message(subject="exact")
    exact = exact + b"p" * (4096 * 4 - len(exact))  # a whole number of pieces
    mailbox.append(make_message(subject="small"), large, exact)
    source = make_source()
    assert poll(source).captured == 3
    bodies = {m.subject: blob_storage().read_bytes(m.raw_blob) for m in InboundMessage.objects.all()}
    assert bodies["large"] == large and bodies["exact"] == exact
