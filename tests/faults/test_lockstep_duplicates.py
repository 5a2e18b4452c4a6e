"""The same mail delivered through two sources at the same moment: one audit row (the later copy counted on
it) and one issue, with or without a Message-ID, through two pipes in lockstep and through IMAP beside a pipe.

Each source runs in its own thread with its own database connection; processing runs inline on commit. SQLite's
test database answers contention with "table is locked" at once: there a delivery is retried as the MTA retries
a temporary failure (exit 75), and the mailbox polled again, as the next scheduled poll would."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.models import Sum

from inbound.models import InboundMessage, InboundStatus, Source, SourceKind
from inbound.pipeline.tasks import process_group
from inbound.retrieval import poll
from inbound.sources.pipe import deliver
from tests.faults.conftest import mailbox, mailbox_pool  # noqa: F401 - fixtures
from tests.inbound.conftest import Mailbox, make_message
from tests.pipeline.conftest import agents, instance, our_domain, profile, projects  # noqa: F401 - fixtures
from trackers.models import Issue

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
COUNT = 200
PATIENCE = 120.0  # seconds a delivery is retried on SQLite's "table is locked"


def deliver_until_taken(source: Source, raw: bytes) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            deliver(source, io.BytesIO(raw))
            return
        except OperationalError:
            if connection.vendor != "sqlite" or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def poll_until_empty(source_id: int) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        result = poll(source_id, force=True)
        if result.status == "ok" and not result.more_pending:
            return
        assert connection.vendor == "sqlite" and time.monotonic() < deadline, result


def messages(with_message_id: bool) -> list[bytes]:
    return [
        make_message(
            subject=f"Lockstep request {i}",
            sender=f"customer{i}@customer.example",
            to="support@support.example.com",
            body=f"Request number {i}.",
            message_id="auto" if with_message_id else None,
        )
        for i in range(COUNT)
    ]


def in_threads(*jobs: Callable[[threading.Barrier], None]) -> None:
    """Run each job in its own thread (own database connection), started together at a barrier."""
    barrier = threading.Barrier(len(jobs), timeout=120)
    errors: list[BaseException] = []

    def run(job: Callable[[threading.Barrier], None]) -> None:
        try:
            job(barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors


def inline_processing(settings: Any) -> None:
    """Process on commit, in the capturing thread: on PostgreSQL. SQLite's test database cannot take processing
    beside capture (processing that meets "table is locked" leaves its rows to the sweep): there the rows are
    processed once the deliveries are done."""
    settings.JEMH_PROCESS_INLINE = connection.vendor != "sqlite"


def pipe(instance: Any, profile: Any, name: str) -> Source:  # noqa: F811
    return Source.objects.create(instance=instance, name=name, kind=SourceKind.PIPE, profile=profile)


def assert_once_each(instance: Any, count: int) -> None:  # noqa: F811
    rows = InboundMessage.objects.filter(instance=instance)
    waiting = list(rows.filter(status=InboundStatus.RECEIVED).values_list("pk", flat=True))
    if connection.vendor == "sqlite":  # processed afterwards, one by one (see inline_processing)
        process_group(waiting)
    else:
        assert waiting == [], "processing on commit failed"
    assert rows.count() == count, "doubled (or lost) audit rows"
    assert sorted(set(rows.values_list("duplicate_copies", flat=True))) == [1]  # every later copy counted
    assert rows.aggregate(n=Sum("duplicate_copies"))["n"] == count
    assert set(rows.values_list("outcome", flat=True)) == {"created"}
    assert Issue.objects.filter(instance=instance).count() == count, "one mail made two issues"


@pytest.mark.parametrize("with_message_id", [True, False], ids=["message-id", "no-message-id"])
def test_two_pipes_in_lockstep(settings: Any, instance: Any, profile: Any, with_message_id: bool) -> None:  # noqa: F811
    """Regression: both deliveries looked for an earlier row, found none, and both inserted (943 of 1,000)."""
    inline_processing(settings)
    mail = messages(with_message_id)
    sources = [pipe(instance, profile, "mta-a"), pipe(instance, profile, "mta-b")]

    def through(source: Source) -> Callable[[threading.Barrier], None]:
        def job(barrier: threading.Barrier) -> None:
            for raw in mail:
                barrier.wait()
                deliver_until_taken(source, raw)

        return job

    in_threads(*(through(source) for source in sources))
    assert_once_each(instance, COUNT)


@pytest.mark.parametrize("with_message_id", [True, False], ids=["message-id", "no-message-id"])
def test_imap_beside_a_pipe(
    settings: Any,
    instance: Any,  # noqa: F811
    profile: Any,  # noqa: F811
    mailbox: Mailbox,  # noqa: F811
    with_message_id: bool,
) -> None:
    """Regression: mail polled from IMAP while the MTA piped the same mail was captured twice (7 of 1,000)."""
    inline_processing(settings)
    mail = messages(with_message_id)
    mailbox.append(*mail)
    imap = Source.objects.create(
        instance=instance,
        name="imap",
        kind=SourceKind.IMAP,
        profile=profile,
        host=mailbox.host,
        port=mailbox.imap_port,
        security="none",
        username=mailbox.username,
        password=mailbox.password,
        batch_limit=COUNT,
    )
    mta = pipe(instance, profile, "mta")

    def polling(barrier: threading.Barrier) -> None:
        barrier.wait()
        poll_until_empty(imap.pk)

    def piping(barrier: threading.Barrier) -> None:
        barrier.wait()
        for raw in mail:
            deliver_until_taken(mta, raw)

    in_threads(polling, piping)
    assert_once_each(instance, COUNT)
    assert mailbox.uids(criteria="UNSEEN") == []
