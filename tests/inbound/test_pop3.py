"""POP3 retrieval against a real Dovecot: UIDL deduplication, delete only when configured."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inbound.models import InboundMessage, Outcome, Source, SourceKind
from inbound.retrieval import check_connection, poll
from jemh.storage import blob_storage
from tests.inbound.conftest import Mailbox, make_message

pytestmark = pytest.mark.django_db


def test_pop3_capture_keeps_mail_and_never_takes_it_twice(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    messages = [make_message(subject="pop one"), make_message(subject="pop two", body="line\r\n" + "y" * 5000)]
    mailbox.append(*messages)
    source = make_source(SourceKind.POP3)
    result = poll(source)
    assert (result.status, result.captured) == ("ok", 2), result.detail
    stored = [blob_storage().read_bytes(m.raw_blob) for m in InboundMessage.objects.order_by("pk")]
    assert stored == messages  # including a line longer than poplib's default limit
    assert len(mailbox.uids()) == 2  # kept on the server (delete not configured)
    assert poll(source).captured == 0
    mailbox.append(make_message(subject="pop three"))
    assert poll(source).captured == 1
    assert InboundMessage.objects.count() == 3


def test_pop3_delete_after_capture(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(), make_message())
    source = make_source(SourceKind.POP3, delete_after_capture=True)
    assert poll(source).captured == 2
    assert mailbox.uids() == []
    assert InboundMessage.objects.count() == 2


def test_pop3_oversized_message_rejected_from_top(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(subject="Big one", body="z" * 200_000))
    source = make_source(SourceKind.POP3, max_message_size=50_000)
    assert poll(source).rejected_too_large == 1
    row = InboundMessage.objects.get()
    assert row.outcome == Outcome.REJECTED and row.subject == "Big one"
    assert b"zzzz" not in blob_storage().read_bytes(row.raw_blob)
    assert poll(source).captured == 0


def test_pop3_connection_test_and_wrong_password(mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message())
    ok, said = check_connection(make_source(SourceKind.POP3))
    assert ok and "1 messages" in said and "Dovecot" in said
    bad = make_source(SourceKind.POP3, password="nope")
    result = poll(bad)
    bad.refresh_from_db()
    assert result.status == "failed" and "Authentication failed" in bad.last_error
    assert bad.consecutive_failures == 1 and bad.next_poll_at is not None
