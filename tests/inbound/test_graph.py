"""Microsoft Graph sources against a fake Graph and a fake identity provider on loopback (tests/inbound/fake_graph.py):
delta rounds across pages, only new mail from the delta link, exactly-once capture across a failure between capture
and mark-read, throttling (bounded waits, then the source's back-off), one token refresh on a 401, read strategies,
the size limit, and the source's validation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from inbound.models import InboundMessage, Outcome, ReadStrategy, Source, SourceKind, SourceReceipt
from inbound.retrieval import check_connection, poll
from jemh.models import OAuthApp, OAuthProvider
from jemh.storage import blob_storage
from tests.inbound.conftest import make_message
from tests.inbound.fake_graph import CLIENT_ID, CLIENT_SECRET, MAILBOX, TENANT, FakeGraph, FakeIdentity

pytestmark = pytest.mark.django_db


@pytest.fixture()
def graph_source(instance: Any, microsoft: tuple[FakeIdentity, FakeGraph]) -> Callable[..., Source]:
    identity, _graph = microsoft
    OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.MICROSOFT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        tenant=TENANT,
        issuer_url=identity.issuer,
    )

    def make(**fields: Any) -> Source:
        values: dict[str, Any] = {
            "instance": instance,
            "name": f"graph-{uuid.uuid4().hex[:6]}",
            "kind": SourceKind.GRAPH,
            "graph_mailbox": MAILBOX,
            "folder": "INBOX",
            **fields,
        }
        source = Source(**values)
        source.full_clean()
        source.save()
        return source

    return make


def captured(source: Source) -> list[bytes]:
    rows = InboundMessage.objects.filter(source=source).order_by("pk")
    return [blob_storage().read_bytes(m.raw_blob) for m in rows]


def test_a_folder_is_captured_across_pages_then_only_new_mail_through_the_delta_link(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    first = [make_message(subject=f"Ticket {i}") for i in range(7)]
    graph.deliver(MAILBOX, make_message(subject="Read long ago"), read=True)  # "mark read" takes unread mail only
    graph.deliver(MAILBOX, *first)
    source = graph_source()
    result = poll(source)
    assert (result.status, result.captured, result.acknowledged) == ("ok", 7, 7), result.detail
    assert captured(source) == first
    assert len(graph.requests("GET */messages/delta")) == 3  # 8 listed, 3 to a page: two nextLinks, one deltaLink
    assert all(m.is_read for m in graph.in_folder(MAILBOX))  # marked read, left in place
    source.refresh_from_db()
    assert "$deltatoken=" in source.graph_delta_link and source.graph_delta_scope == f"{MAILBOX}\nINBOX"

    later = [make_message(subject="Ticket 7"), make_message(subject="Ticket 8")]
    graph.deliver(MAILBOX, *later)
    again = poll(source)
    assert (again.status, again.captured, again.acknowledged) == ("ok", 2, 2), again.detail
    assert captured(source) == first + later
    assert len(graph.requests("GET */$value")) == 9  # nothing fetched twice
    assert len(graph.requests("GET */messages/delta")) == 4  # one page from the delta link
    quiet = poll(source)
    assert (quiet.status, quiet.captured, quiet.acknowledged) == ("ok", 0, 0)


def test_a_failure_between_capture_and_mark_read_still_gives_one_audit_row_per_message(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    """Graph failing the mark-read (after capture committed) leaves the mail unread and the delta link where it
    was: the next poll sees the same messages, finds their receipts and only marks them read."""
    _identity, graph = microsoft
    messages = [make_message(subject=f"Crash {i}", message_id=None if i == 1 else "auto") for i in range(5)]
    graph.deliver(MAILBOX, *messages)
    source = graph_source()
    graph.fail("PATCH /v1.0/users/*/messages/*", count=1, status=500)
    failed = poll(source)
    assert failed.status == "failed" and "telling the mailbox failed" in failed.detail, failed.detail
    assert InboundMessage.objects.filter(source=source).count() == 5  # recorded before the mailbox was told
    assert not any(m.is_read for m in graph.in_folder(MAILBOX))
    source.refresh_from_db()
    assert source.graph_delta_link == "" and source.consecutive_failures == 1

    repaired = poll(source, force=True)  # the admin's "poll now": the failed poll put the source in back-off
    assert (repaired.status, repaired.captured, repaired.acknowledged) == ("ok", 0, 5), repaired.detail
    assert sorted(captured(source)) == sorted(messages)
    assert SourceReceipt.objects.filter(source=source).count() == 5
    assert all(row.duplicate_copies == 0 for row in InboundMessage.objects.filter(source=source))
    assert all(m.is_read for m in graph.in_folder(MAILBOX))
    assert len(graph.requests("GET */$value")) == 5  # nothing fetched again
    source.refresh_from_db()
    assert source.graph_delta_link and source.consecutive_failures == 0


def test_the_delta_link_is_kept_while_the_batch_limit_leaves_mail_waiting(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    messages = [make_message(subject=f"Batch {i}") for i in range(5)]
    graph.deliver(MAILBOX, *messages)
    source = graph_source(batch_limit=3)
    first = poll(source)
    assert (first.status, first.captured, first.more_pending) == ("ok", 3, True)
    source.refresh_from_db()
    assert source.graph_delta_link == ""  # the round is not finished
    second = poll(source)
    assert (second.status, second.captured, second.more_pending) == ("ok", 2, False)
    assert captured(source) == messages
    source.refresh_from_db()
    assert source.graph_delta_link


def test_a_throttled_request_is_retried_after_the_wait_graph_asks_for(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="Busy day"))
    source = graph_source()
    graph.throttle("GET */messages/delta", count=1, retry_after="1")
    graph.throttle("GET */$value", count=1, retry_after="1", status=503)
    started = time.monotonic()
    result = poll(source)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert time.monotonic() - started >= 2  # waited as asked, twice
    assert [status for _, _, status in graph.requests("GET */messages/delta")] == [429, 200]
    assert [status for _, _, status in graph.requests("GET */$value")] == [503, 200]


def test_throttling_longer_than_the_bound_ends_the_poll_and_backs_the_source_off(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="Later"))
    source = graph_source()
    graph.throttle("GET */messages/delta", count=10, retry_after="900")
    before = timezone.now()
    result = poll(source)
    assert result.status == "failed" and "throttled" in result.detail and "900" in result.detail, result.detail
    assert len(graph.requests("GET */messages/delta")) == 1  # no wait of 900 s inside the poll
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and "throttled" in source.last_error
    assert source.next_poll_at >= before + timedelta(seconds=900)  # longer than the usual 5-minute retry
    assert InboundMessage.objects.filter(source=source).count() == 0


def test_a_401_triggers_exactly_one_token_refresh(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="One"))
    source = graph_source()
    assert poll(source).captured == 1
    assert poll(source).status == "ok"
    assert identity.token_requests == 1  # the token is cached until it expires, across polls
    identity.revoke_all()
    graph.deliver(MAILBOX, make_message(subject="Two"))
    result = poll(source)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert identity.token_requests == 2
    assert sum(1 for _, _, status in graph.log if status == 401) == 1


def test_a_token_refused_again_after_the_refresh_fails_the_poll(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source], monkeypatch: pytest.MonkeyPatch
) -> None:
    identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="Locked out"))
    source = graph_source()
    monkeypatch.setattr(identity, "valid", lambda token: False)  # e.g. the app lost its Mail.ReadWrite permission
    result = poll(source)
    assert result.status == "failed" and "401" in result.detail and "InvalidAuthenticationToken" in result.detail
    assert identity.token_requests == 2  # the first token, and one fresh one
    assert len(graph.log) == 2


def test_a_wrong_client_secret_says_what_to_check(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    source = graph_source()
    OAuthApp.objects.filter(instance=source.instance).update(client_secret="wrong")
    result = poll(source)
    assert result.status == "failed" and "invalid_client" in result.detail and "client id, secret" in result.detail


def test_move_strategy_moves_captured_mail_to_the_named_folder(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    messages = [make_message(subject=f"Move {i}") for i in range(4)]
    graph.deliver(MAILBOX, *messages, folder="Support")
    source = graph_source(folder="Support", read_strategy=ReadStrategy.MOVE, move_to="Archive")
    result = poll(source)
    assert (result.status, result.captured, result.acknowledged) == ("ok", 4, 4), result.detail
    assert graph.in_folder(MAILBOX, "Support") == []
    assert [m.raw for m in graph.in_folder(MAILBOX, "archive")] == messages
    assert poll(source).captured == 0


def test_delete_strategy_deletes_captured_mail(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="Gone"), read=True)  # with delete, read mail is taken too
    source = graph_source(read_strategy=ReadStrategy.DELETE)
    result = poll(source)
    assert (result.status, result.captured) == ("ok", 1)
    assert graph.in_folder(MAILBOX) == []


def test_an_unknown_delta_link_starts_a_full_round_without_capturing_twice(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(subject="Before"))
    source = graph_source(read_strategy=ReadStrategy.MOVE, move_to="Archive", folder="Support")
    graph.deliver(MAILBOX, make_message(subject="Support 1"), folder="Support")
    assert poll(source).captured == 1
    source.refresh_from_db()
    expired = source.graph_delta_link.split("$deltatoken=")[0] + "$deltatoken=forgotten-by-graph"
    Source.objects.filter(pk=source.pk).update(graph_delta_link=expired)
    graph.deliver(MAILBOX, make_message(subject="Support 2"), folder="Support")
    result = poll(source)
    assert (result.status, result.captured) == ("ok", 1), result.detail
    assert [status for _, _, status in graph.requests("GET */messages/delta")][-2:] == [410, 200]
    assert InboundMessage.objects.filter(source=source).count() == 2


def test_mail_over_the_size_limit_is_recorded_from_its_headers_without_reading_it_all(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    big = make_message(subject="Huge", body="x" * 2_000_000)
    graph.deliver(MAILBOX, big)
    source = graph_source(max_message_size=100_000)
    result = poll(source)
    assert (result.status, result.captured, result.rejected_too_large) == ("ok", 1, 1), result.detail
    row = InboundMessage.objects.get(source=source)
    assert row.outcome == Outcome.REJECTED and row.size == len(big) and row.subject == "Huge"


def test_test_connection_describes_the_folder(
    microsoft: tuple[FakeIdentity, FakeGraph], graph_source: Callable[..., Source]
) -> None:
    _identity, graph = microsoft
    graph.deliver(MAILBOX, make_message(), make_message())
    ok, said = check_connection(graph_source())
    assert ok and MAILBOX in said and "'Inbox': 2 messages, 2 unread" in said, said


def test_a_graph_source_needs_a_mailbox_and_the_instances_microsoft_app(instance: Any) -> None:
    source = Source(instance=instance, name="g", kind=SourceKind.GRAPH, folder="INBOX")
    with pytest.raises(ValidationError) as refused:
        source.full_clean()
    assert set(refused.value.message_dict) >= {"graph_mailbox", "kind"}
    assert "Microsoft OAuth app" in refused.value.message_dict["kind"][0]


def test_the_source_admin_shows_the_graph_fields_but_not_the_delta_link(
    admin_client: Any, graph_source: Callable[..., Source]
) -> None:
    source = graph_source()
    page = admin_client.get(reverse("admin:inbound_source_change", args=[source.pk])).content.decode()
    assert 'name="graph_mailbox"' in page and MAILBOX in page and "lists the whole folder" in page
    assert 'name="graph_delta_link"' not in page and 'name="graph_delta_scope"' not in page
