"""End to end: mail in a real Dovecot mailbox is polled, captured, processed into the local tracker."""

from __future__ import annotations

import time
from typing import Any

import pytest

from inbound.models import InboundMessage
from inbound.retrieval import poll
from tests.pipeline.conftest import mail, reasons
from trackers.models import Comment, Issue


@pytest.fixture()
def imap_source(make_source, profile) -> Any:
    return make_source(profile=profile)


def _poll(source: Any, capture: Any) -> None:
    with capture(execute=True):  # run what capture queues on commit (the processing) now
        result = poll(source, force=True)
    assert result.status == "ok", result.detail


@pytest.mark.django_db
def test_mail_reply_and_out_of_office_through_dovecot(
    settings, imap_source, mailbox, tracker, django_capture_on_commit_callbacks
) -> None:
    settings.JEMH_PROCESS_INLINE = True
    mailbox.append(mail(message_id="<new-1@customer.example>"))
    _poll(imap_source, django_capture_on_commit_callbacks)
    [issue] = Issue.objects.all()
    created = InboundMessage.objects.get()
    assert created.outcome == "created" and issue.key == "SUP-1"
    assert mailbox.uids(criteria="UNSEEN") == []  # the read strategy ran after capture

    reply = mail(
        subject="Re: Printer on fire",
        body="Thanks, it works now.\n\n> old text\n",
        headers={"In-Reply-To": "<new-1@customer.example>"},
    )
    out_of_office = mail(
        subject="Automatic reply: Printer on fire",
        body="I am away until Monday.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": "<new-1@customer.example>"},
    )
    mailbox.append(reply, out_of_office)
    _poll(imap_source, django_capture_on_commit_callbacks)
    outcomes = sorted(InboundMessage.objects.values_list("outcome", flat=True))
    assert outcomes == ["commented", "created", "dropped"]
    dropped = InboundMessage.objects.get(outcome="dropped")
    assert "automatic reply" in reasons(dropped)
    assert Issue.objects.count() == 1
    [comment] = Comment.objects.all()
    assert comment.body.startswith("Thanks, it works now.")

    _poll(imap_source, django_capture_on_commit_callbacks)  # polling again captures and creates nothing new
    assert InboundMessage.objects.count() == 3 and Issue.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_processing_through_celery_worker_and_redis(redis_server, imap_source, mailbox) -> None:
    from celery.contrib.testing.worker import start_worker

    from inbound.tasks import poll_source
    from tests.services.celery import celery_pointed_at

    mailbox.append(mail(subject="Via the worker"))
    with (
        celery_pointed_at(redis_server.url, redis_server.url) as app,
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        poll_source.delay(imap_source.pk, True).get(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not InboundMessage.objects.filter(outcome="created").exists():
            time.sleep(0.1)
    message = InboundMessage.objects.get()
    assert message.outcome == "created", message.report
    assert Issue.objects.get().summary == "Via the worker"
