"""Each real component the project relies on, proven once with a meaningful round trip."""

from __future__ import annotations

import poplib
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import connection
from imapclient import IMAPClient

from jemh.models import Instance, TrackerKind
from tests.conftest import TEST_DB


@pytest.mark.django_db
def test_instance_saved_and_read_back_on_configured_database() -> None:
    expected_vendor = "postgresql" if TEST_DB == "postgres" else "sqlite"
    assert connection.vendor == expected_vendor
    created = Instance.objects.create(
        name="Acme Support", tracker_kind=TrackerKind.JIRA, base_url="https://acme.atlassian.net"
    )
    loaded = Instance.objects.get(pk=created.pk)
    assert (loaded.name, loaded.tracker_kind, loaded.base_url) == ("Acme Support", "jira", "https://acme.atlassian.net")
    assert loaded.raw_mail_retention_days == 30 and loaded.store_raw_mail is True


@pytest.mark.django_db(transaction=True)
def test_celery_task_round_trip_through_redis(redis_server) -> None:
    import redis
    from celery.contrib.testing.worker import start_worker

    from jemh.tasks import instance_summary
    from tests.services.celery import celery_pointed_at

    instance = Instance.objects.create(name="Queued")
    with (
        celery_pointed_at(redis_server.url, redis_server.url) as app,
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        result = instance_summary.delay(instance.pk)
        assert result.get(timeout=20) == {"id": instance.pk, "name": "Queued", "tracker_kind": "local"}
    client = redis.Redis.from_url(redis_server.url)
    assert any(key.startswith(b"celery-task-meta-") for key in client.keys("*")), "result not in Redis"  # type: ignore[arg-type]  # bytes: no decode_responses


def test_dovecot_login_over_imap_and_pop3(dovecot) -> None:
    dovecot.add_user("alice@example.test", "alicepw")
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as imap:
        imap.login("alice@example.test", "alicepw")
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = "hello", "bob@example.test", "alice@example.test"
        message.set_content("body")
        imap.append("INBOX", message.as_bytes())
        imap.select_folder("INBOX")
        assert len(imap.search("ALL")) == 1
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    try:
        pop.user("alice@example.test")
        pop.pass_("alicepw")
        count, _size = pop.stat()
        assert count == 1
        assert b"Subject: hello" in b"\r\n".join(pop.retr(1)[1])
    finally:
        pop.quit()
    with (
        pytest.raises(Exception, match=r"(?i)auth"),
        IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as imap,
    ):
        imap.login("alice@example.test", "wrong")


def test_mail_sent_through_smtp_reaches_the_sink(smtp, settings) -> None:
    from django.core.mail import get_connection, send_mail

    backend = get_connection("django.core.mail.backends.smtp.EmailBackend", host=smtp.host, port=smtp.port, timeout=10)
    sent = send_mail(
        "Your issue ABC-1", "It was created.", "jemh@example.test", ["carol@example.test"], connection=backend
    )
    assert sent == 1
    [mail] = smtp.wait_for(1)
    assert mail.envelope_to == ["carol@example.test"]
    assert mail.message["Subject"] == "Your issue ABC-1"
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        assert client.noop()[0] == 250


def test_pointing_celery_at_redis_really_uses_redis(redis_server: Any) -> None:
    """The test settings' CELERY_BROKER_URL=memory:// in the environment outranked the app's configuration: tests
    "through Redis" ran on the in-memory broker."""
    from jemh.celery import app
    from tests.services.celery import celery_pointed_at

    with celery_pointed_at(redis_server.url, redis_server.url), app.connection_for_write() as connection:
        assert connection.as_uri().startswith("redis://")
    with app.connection_for_write() as connection:
        assert connection.as_uri().startswith("memory://")  # and back afterwards
