"""The webhook endpoint's checks: a delivery is stored (encrypted) only when its token, signature, size, JSON and
identity are right; anything else is a 4xx with nothing stored. Nothing here calls Jira."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from jemh.models import Instance
from notifications.choices import DeliveryStatus, EventStatus
from notifications.models import IssueEvent, WebhookDelivery
from notifications.webhooks.processing import process_delivery
from notifications.webhooks.signature import sign, signature_problem
from tests.notifications.jira.conftest import SECRET, hook_path, make_jira_instance
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.webhooks import WebhookEmitter, jira_signature

CAPTURES = Path(__file__).resolve().parents[4] / "shared" / "jira" / "webhooks"
if not CAPTURES.is_dir():  # a worktree beside the shared folder, or the main checkout
    CAPTURES = Path("/work/shared/jira/webhooks")


def nothing_stored() -> bool:
    return not WebhookDelivery.objects.exists() and not IssueEvent.objects.exists()


def test_signature_matches_the_documented_test_vector() -> None:
    body = (CAPTURES / "cloud-2024-jira_issue_updated-description-changelog.json").read_bytes()
    expected = "sha256=6f21e714171a0b210c75c9987bf3b2bf829d9a2d012586468e336f91a0861821"
    assert sign("test-secret", body) == expected
    assert signature_problem("test-secret", body, expected) is None
    assert signature_problem("test-secret", body, expected.upper().replace("SHA256=", "sha256=")) is None
    assert signature_problem("test-secret", body + b" ", expected) is not None
    assert signature_problem("other", body, expected) is not None
    assert "missing" in (signature_problem("test-secret", body, None) or "")


@pytest.mark.django_db
def test_signed_delivery_is_stored_encrypted_and_answered_202(
    emitter: WebhookEmitter, issue_key: str, mapping: Any, fake_jira: FakeJira, people: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    calls_before = sum(fake_jira.calls.values())
    with django_capture_on_commit_callbacks() as queued:
        started = time.monotonic()
        first, second = emitter.comment_as(people["agent"], issue_key, "We are on it: a new toner is coming.")
        elapsed = time.monotonic() - started
    assert (first.status, second.status) == (202, 202)
    assert elapsed < 2.0  # two answers, well within Jira's patience
    assert sum(fake_jira.calls.values()) == calls_before  # the answer asks Jira nothing: the task does
    assert len(queued) == 2  # one task per delivery, queued on commit
    stored = WebhookDelivery.objects.get(identifier=first.identifier)
    assert stored.status == DeliveryStatus.RECEIVED and stored.webhook_event == "comment_created"
    assert json.loads(stored.body)["comment"]["id"] == first.json["comment"]["id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM notifications_webhookdelivery WHERE id = %s", [stored.pk])
        raw = cursor.fetchone()[0]
    assert "toner" not in raw and "comment_created" not in raw  # encrypted at rest


@pytest.mark.django_db
def test_wrong_or_missing_signature_is_refused_and_nothing_stored(
    emitter: WebhookEmitter, issue_key: str, mapping: Any, fake_jira: FakeJira, people: Any
) -> None:
    issue = fake_jira.state.issue(issue_key)
    assert issue is not None
    body = json.dumps(emitter.issue_updated(issue, people["agent"], [])).encode()
    wrong = emitter.deliver(body, headers={**emitter.headers(body), "X-Hub-Signature": jira_signature("guess", body)})
    headers = emitter.headers(body)
    del headers["X-Hub-Signature"]
    missing = emitter.deliver(body, headers=headers)
    tampered_body = body.replace(b"Printer", b"Scanner")
    tampered = emitter.deliver(tampered_body, headers=emitter.headers(body))  # the signature of the original
    assert (wrong.status, missing.status, tampered.status) == (401, 401, 401)
    assert nothing_stored()


@pytest.mark.django_db
def test_replayed_delivery_is_refused_whether_its_identifier_is_kept_or_changed(
    emitter: WebhookEmitter, issue_key: str, mapping: Any, fake_jira: FakeJira, people: Any
) -> None:
    first, _ = emitter.comment_as(people["agent"], issue_key, "Hello")
    assert first.status == 202
    assert emitter.retry(first).status == 409  # the same identifier
    renamed = emitter.deliver(first.body, headers=emitter.headers(first.body))  # a fresh identifier, same body
    assert renamed.status == 409
    assert WebhookDelivery.objects.count() == 2  # the two deliveries of the comment, nothing more


@pytest.mark.django_db
def test_unknown_token_size_and_malformed_json_are_refused_with_nothing_stored(
    client: Client, jira_instance: Instance, mapping: Any, settings: Any
) -> None:
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "SUP-1"}}).encode()
    signed = {"X-Hub-Signature": sign(SECRET, body), "X-Atlassian-Webhook-Identifier": "1"}

    def post(path: str, data: bytes, headers: dict[str, str]) -> int:
        return int(client.post(path, data=data, content_type="application/json", headers=headers).status_code)

    assert post("/hooks/jira/not-a-token/", body, signed) == 404
    local = Instance.objects.create(name="Local")  # a local-tracker instance takes no Jira webhooks
    assert post(hook_path(local), body, signed) == 404
    path = hook_path(jira_instance)
    token = str(jira_instance.jira_webhook_token)
    assert post(path.replace(token, token.swapcase()), body, signed) == 404  # the look-up hash ignores case
    for bad in (b"{not json", b"[1, 2]", b'{"issue": {}}', "\udcff".encode("utf-8", "surrogatepass")):
        assert post(path, bad, {"X-Hub-Signature": sign(SECRET, bad)}) == 400, bad
    settings.JEMH_JIRA_WEBHOOK_MAX_BYTES = 64
    assert post(path, body, signed) == 413
    assert client.get(path).status_code == 405
    assert nothing_stored()


@pytest.mark.django_db
def test_old_delivery_is_refused_as_a_replay(client: Client, jira_instance: Instance, mapping: Any) -> None:
    old = int((time.time() - 30 * 86400) * 1000)
    body = json.dumps({"timestamp": old, "webhookEvent": "jira:issue_updated", "issue": {"key": "SUP-1"}}).encode()
    response = client.post(
        hook_path(jira_instance), data=body, content_type="application/json",
        headers={"X-Hub-Signature": sign(SECRET, body)},
    )  # fmt: skip
    assert response.status_code == 400 and "replay" in response.json()["detail"]
    assert nothing_stored()


@pytest.mark.django_db
def test_without_a_secret_the_token_alone_admits_a_delivery(client: Client, fake_jira: FakeJira, people: Any) -> None:
    instance = make_jira_instance(fake_jira, secret="")
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "SUP-1"}}).encode()
    response = client.post(hook_path(instance), data=body, content_type="application/json")
    assert response.status_code == 202
    assert WebhookDelivery.objects.filter(instance=instance).count() == 1


@pytest.mark.django_db
def test_event_no_mapping_wants_is_dropped_at_once_keeping_only_that_fact(
    emitter: WebhookEmitter, issue_key: str, people: Any, fake_jira: FakeJira, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        first, second = emitter.comment_as(people["agent"], issue_key, "Nobody maps this")
    assert (first.status, second.status) == (202, 202)
    # Data Center's comment_created names no issue (so no project): the task finds it, then drops it
    assert len(queued) == (1 if fake_jira.flavour == "datacenter" else 0)
    for delivery in WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED):
        assert process_delivery(delivery.pk) == DeliveryStatus.DROPPED
    deliveries = list(WebhookDelivery.objects.all())
    assert [d.status for d in deliveries] == [DeliveryStatus.DROPPED] * 2
    assert all(d.body == "" for d in deliveries)
    [event] = IssueEvent.objects.all()  # the comment's two deliveries are one event
    assert event.status == EventStatus.DROPPED and event.payload is None and event.actor is None


@pytest.mark.django_db
def test_event_kind_notifications_do_not_use_is_dropped(client: Client, jira_instance: Instance, mapping: Any) -> None:
    captured = json.loads((CAPTURES / "cloud-mm-comment_deleted.json").read_bytes())
    body = json.dumps({**captured, "timestamp": int(time.time() * 1000)}).encode()  # captured in 2019
    response = client.post(
        hook_path(jira_instance), data=body, content_type="application/json",
        headers={"X-Hub-Signature": sign(SECRET, body)},
    )  # fmt: skip
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DROPPED and delivery.body == "" and "comment_deleted" in delivery.reason
    assert not IssueEvent.objects.exists()
