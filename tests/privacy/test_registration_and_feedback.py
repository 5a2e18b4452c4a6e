"""privacy.md, "Registration and feedback": with a chat webhook set, registering an instance posts its host URL,
and an admin's feedback posts the host URL, their e-mail and their text: exactly that, checked by a local HTTP
server; a failing webhook changes nothing else and is recorded in the outbound audit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jemh.models import Instance
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage

pytestmark = pytest.mark.django_db(transaction=True)


class Webhook:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.posts.append((self.path, json.loads(body)))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def webhook(settings: Any) -> Iterator[Webhook]:
    hook = Webhook()
    settings.JEMH_CHAT_WEBHOOK_URL = hook.url
    yield hook
    hook.server.shutdown()


def test_registering_an_instance_posts_its_host_url_once(webhook: Webhook) -> None:
    instance = Instance.objects.create(name="Acme", base_url="https://acme.atlassian.net")
    instance.name = "Acme Corp"
    instance.save()  # a change is not a registration
    assert webhook.posts == [
        ("/services/T0/B0/secret", {"text": "JEMH mail handler: instance registered, host https://acme.atlassian.net"})
    ]
    row = OutboundMessage.objects.get(kind=OutboundKind.CHAT)
    assert (row.status, row.subject, row.recipients) == (OutboundStatus.SENT, "registration", ["127.0.0.1"])


def test_feedback_posts_exactly_the_host_the_address_and_the_text(webhook: Webhook, admin_client: Any) -> None:
    instance = Instance.objects.create(name="Acme", base_url="https://acme.atlassian.net")
    webhook.posts.clear()
    page = admin_client.post(
        "/admin/feedback/", {"instance": instance.pk, "text": "The report table is lovely."}, follow=True
    )
    assert "your feedback was sent" in page.content.decode()
    assert webhook.posts == [
        (
            "/services/T0/B0/secret",
            {
                "text": "JEMH mail handler feedback from admin@example.com (host https://acme.atlassian.net):\n"
                "The report table is lovely."
            },
        )
    ]


def test_a_failing_webhook_changes_nothing_else_and_is_recorded(webhook: Webhook, admin_client: Any) -> None:
    webhook.status = 500
    instance = Instance.objects.create(name="Acme", base_url="https://acme.atlassian.net")
    assert Instance.objects.filter(pk=instance.pk).exists()  # the registration still stands
    row = OutboundMessage.objects.get(kind=OutboundKind.CHAT)
    assert row.status == OutboundStatus.FAILED and "500" in row.error
    page = admin_client.post("/admin/feedback/", {"instance": instance.pk, "text": "hello"}, follow=True)
    assert "could not be sent" in page.content.decode()


def test_without_a_webhook_nothing_is_posted(settings: Any, admin_client: Any) -> None:
    settings.JEMH_CHAT_WEBHOOK_URL = ""
    Instance.objects.create(name="Quiet")
    assert not OutboundMessage.objects.filter(kind=OutboundKind.CHAT).exists()
    assert "JEMH_CHAT_WEBHOOK_URL" in admin_client.get("/admin/feedback/").content.decode()
