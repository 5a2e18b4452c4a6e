"""The admin: health columns, a write-only password, "test connection", and the read-only audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.retrieval import poll
from tests.inbound.conftest import Mailbox, make_message

pytestmark = pytest.mark.django_db


def test_source_list_shows_health(admin_client: Any, mailbox: Mailbox, make_source: Callable[..., Source]) -> None:
    mailbox.append(make_message(), make_message())
    good = make_source(name="good-box")
    poll(good)
    bad = make_source(name="bad-box", password="wrong")
    poll(bad)
    page = admin_client.get(reverse("admin:inbound_source_changelist")).content.decode()
    assert "good-box" in page and "bad-box" in page
    assert "failing (1 in a row)" in page and "Authentication failed" in page
    assert "captured today" in page.lower()
    row = page[page.index("good-box") : page.index("good-box") + 3000]
    assert ">2<" in row  # captured today


def test_password_is_write_only(admin_client: Any, make_source: Callable[..., Source], mailbox: Mailbox) -> None:
    source = make_source()
    url = reverse("admin:inbound_source_change", args=[source.pk])
    page = admin_client.get(url).content.decode()
    assert mailbox.password not in page
    form = {
        "instance": source.instance_id,
        "name": source.name,
        "kind": "imap",
        "enabled": "on",
        "host": source.host,
        "port": source.port,
        "security": "none",
        "auth_method": "password",
        "sasl_mechanism": "xoauth2",
        "smtp_security": "starttls",
        "username": source.username,
        "password": "",
        "folder": "INBOX",
        "read_strategy": "mark_read",
        "move_to": "",
        "maildir_path": "",
        "poll_interval": 300,
        "batch_limit": 50,
        "max_message_size": 1_000_000,
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    source.refresh_from_db()
    assert source.password == mailbox.password and source.poll_interval == 300  # blank kept the old one
    admin_client.post(url, {**form, "password": "new-secret"})
    source.refresh_from_db()
    assert source.password == "new-secret"


def test_test_connection_action_reports_server_words(admin_client: Any, make_source: Callable[..., Source]) -> None:
    ok, bad = make_source(name="ok-box"), make_source(name="bad-box", password="wrong")
    response = admin_client.post(
        reverse("admin:inbound_source_changelist"),
        {"action": "test_connection", "_selected_action": [ok.pk, bad.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Ok-box: Connected and logged in" in text and "Dovecot" in text  # (the admin capitalises)
    assert "Bad-box: login failed" in text and "Authentication failed" in text


def test_audit_admin_shows_decrypted_fields_and_never_renders_html(admin_client: Any, instance: Any) -> None:
    pipe = Source.objects.create(instance=instance, name="p", kind=SourceKind.PIPE)
    row = capture(pipe, make_message(subject="<script>alert(1)</script> urgent", sender="bob@example.test")).message
    listing = admin_client.get(reverse("admin:inbound_inboundmessage_changelist")).content.decode()
    assert "bob@example.test" in listing and "&lt;script&gt;alert(1)&lt;/script&gt; urgent" in listing
    assert "<script>alert(1)" not in listing
    found = admin_client.get(reverse("admin:inbound_inboundmessage_changelist"), {"q": "BOB@example.test"})
    assert "urgent" in found.content.decode()
    detail = admin_client.get(reverse("admin:inbound_inboundmessage_change", args=[row.pk])).content.decode()
    assert "support@example.test" in detail and "<script>alert" not in detail
    assert admin_client.get(reverse("admin:inbound_inboundmessage_add")).status_code == 403
    assert InboundMessage.objects.count() == 1
