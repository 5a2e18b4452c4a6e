"""Rotating SECRET_KEY (the old one kept in SECRET_KEY_FALLBACKS) breaks nothing: threading, dedupe, flood counts
and the admin search still work, and so they do for rows hashed the old way (keyed by SECRET_KEY, before
JEMH_INDEX_KEY)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from inbound.capture import capture
from inbound.mime import parse
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import build_context, profile_for
from inbound.pipeline.steps.flood import Flood
from jemh.crypto import keyed_hash
from jemh.models import Instance
from notifications.threading import reply_address_for
from tests.core.test_keyed_hash import NEW_SECRET, OLD_SECRET, old_keyed_hash
from tests.pipeline.conftest import mail, reasons
from trackers.interface import normalize_message_id
from trackers.models import Comment, Issue, IssueMessageId

pytestmark = pytest.mark.django_db

ROTATED = {"SECRET_KEY": NEW_SECRET, "SECRET_KEY_FALLBACKS": [OLD_SECRET]}
CAROL = "carol@customer.example"


@pytest.fixture(autouse=True)
def old_secret(settings: Any) -> None:
    settings.SECRET_KEY = OLD_SECRET
    settings.SECRET_KEY_FALLBACKS = []


@pytest.fixture()
def pipe(instance: Instance) -> Source:
    return Source.objects.create(instance=instance, name="pipe", kind=SourceKind.PIPE)


def hashed_the_old_way(row: InboundMessage) -> None:
    """Give an audit row the hashes it would carry had it been captured before JEMH_INDEX_KEY."""
    row.refresh_from_db()
    raw_digest = hashlib.sha256(_raw(row)).hexdigest()
    old = {
        "sender_hash": old_keyed_hash(row.sender, "address", OLD_SECRET) if row.sender else "",
        "message_id_hash": old_keyed_hash(row.message_id, "message-id", OLD_SECRET) if row.message_id else "",
        "content_hash": old_keyed_hash(raw_digest, "content", OLD_SECRET),
    }
    assert old["sender_hash"] != row.sender_hash and old["content_hash"] != row.content_hash
    InboundMessage.objects.filter(pk=row.pk).update(**old)


def _raw(row: InboundMessage) -> bytes:
    from jemh.storage import blob_storage

    return blob_storage().read_bytes(row.raw_blob)


def test_reply_to_a_notification_sent_before_the_rotation_comments_on_its_issue(
    deliver: Callable[..., InboundMessage], instance: Instance, profile: Any
) -> None:
    first = deliver(mail(subject="Printer on fire"))
    other = deliver(mail(subject="Scanner jammed"))
    key = first.report["steps"][-1]["details"]["issue"]
    assert other.report["steps"][-1]["details"]["issue"] != key
    # the reply address our notification about `key` carried, made under the old SECRET_KEY
    reply_to = reply_address_for(profile.reply_address, instance.pk, key, CAROL)
    with override_settings(**ROTATED):
        reply = deliver(mail(to=reply_to, subject="Thanks", body="Carol again: it works."))
    assert reply.outcome == "commented", reasons(reply)
    assert f"reply address token for {key}" in reasons(reply)
    [comment] = Comment.objects.all()
    assert comment.issue.key == key and comment.body.startswith("Carol again")
    assert Issue.objects.count() == 2


def test_without_the_old_key_as_a_fallback_the_token_no_longer_verifies(
    deliver: Callable[..., InboundMessage], instance: Instance, profile: Any
) -> None:
    """The control of the test above: the fallback is what keeps the token valid."""
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    reply_to = reply_address_for(profile.reply_address, instance.pk, key, CAROL)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        reply = deliver(mail(to=reply_to, subject="Thanks", body="Carol again."))
    assert "reply address token" not in reasons(reply)


def test_message_id_threading_finds_ids_recorded_the_old_way(deliver: Callable[..., InboundMessage]) -> None:
    first = deliver(mail(message_id="<first@customer.example>"))
    key = first.report["steps"][-1]["details"]["issue"]
    recorded = IssueMessageId.objects.get(
        message_id_hash=keyed_hash(normalize_message_id("<first@customer.example>"), "message-id")
    )
    old = old_keyed_hash(normalize_message_id("<first@customer.example>"), "message-id", OLD_SECRET)
    IssueMessageId.objects.filter(pk=recorded.pk).update(message_id_hash=old)
    with override_settings(**ROTATED):
        reply = deliver(
            mail(
                subject="Re: Printer on fire",
                body="Still burning.",
                headers={"In-Reply-To": "<first@customer.example>", "References": "<first@customer.example>"},
            )
        )
    assert reply.outcome == "commented", reasons(reply)
    assert Comment.objects.get().issue.key == key and Issue.objects.count() == 1


def test_the_same_mail_again_is_recognised_after_a_rotation(pipe: Source) -> None:
    raw = mail(message_id="<again@customer.example>")
    first = capture(pipe, raw)
    with override_settings(**ROTATED):
        again = capture(pipe, raw)
    assert first.new and again.duplicate and again.message.pk == first.message.pk


@pytest.mark.parametrize("with_message_id", [True, False], ids=["by-message-id", "by-content"])
def test_mail_captured_before_the_index_key_is_recognised(pipe: Source, with_message_id: bool) -> None:
    raw = mail(message_id="<old@customer.example>")
    if not with_message_id:
        raw = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"Message-ID:"))
    first = capture(pipe, raw)
    assert first.message is not None and bool(first.message.message_id) is with_message_id
    hashed_the_old_way(first.message)
    with override_settings(**ROTATED):
        again = capture(pipe, raw)
    assert again.duplicate and again.message.pk == first.message.pk
    assert InboundMessage.objects.count() == 1


def test_flood_counts_rows_hashed_the_old_way_after_a_rotation(
    deliver: Callable[..., InboundMessage], profile: Any
) -> None:
    profile.flood_limit_per_hour = 2
    profile.save()
    for n in range(2):
        hashed_the_old_way(deliver(mail(subject=f"Message {n}")))
    with override_settings(**ROTATED):
        third = deliver(mail(subject="Message 2"))
        assert third.outcome == "filtered", reasons(third)
        assert "flood: 2 messages" in reasons(third)
        fourth = deliver(mail(subject="Message 3"))  # counted with the one hashed the new way
        assert "flood: 3 messages" in reasons(fourth)


def test_flood_counts_rows_hashed_the_old_way_outside_a_group(
    deliver: Callable[..., InboundMessage], instance: Instance, profile: Any
) -> None:
    """The Flood step's own query (a context without a group) counts old rows too."""
    profile.flood_limit_per_hour = 5
    profile.save()
    for n in range(2):
        hashed_the_old_way(deliver(mail(subject=f"Message {n}")))
    latest = deliver(mail(subject="Latest"))
    with override_settings(**ROTATED):
        raw = _raw(latest)
        ctx = build_context(
            instance_id=instance.pk,
            raw=raw,
            parsed=parse(raw),
            profile=profile_for(latest, profile.pk),
            inbound=latest,
            dry_run=True,
        )
        assert ctx.lookups.group is None  # type: ignore[attr-defined]
        verdict = Flood()(ctx)
    assert "2 earlier message(s) from this sender" in verdict.reason


def test_admin_search_finds_rows_hashed_the_old_way_after_a_rotation(admin_client: Any, pipe: Source) -> None:
    old = capture(pipe, mail(subject="Old row", message_id="<old-row@customer.example>")).message
    assert old is not None
    hashed_the_old_way(old)
    new = capture(pipe, mail(subject="New row", sender="dan@customer.example")).message
    opts = InboundMessage._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    with override_settings(**ROTATED):
        by_sender = admin_client.get(url, {"q": "Carol@Customer.example"}).content.decode()
        by_message_id = admin_client.get(url, {"q": "<old-row@customer.example>"}).content.decode()
        by_new_sender = admin_client.get(url, {"q": "dan@customer.example"}).content.decode()
    assert "Old row" in by_sender and "New row" not in by_sender
    assert "Old row" in by_message_id
    assert "New row" in by_new_sender and new.subject == "New row"
