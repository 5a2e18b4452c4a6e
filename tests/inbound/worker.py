"""A subprocess helper for tests that must cross a process boundary (crash injection, the MTA pipe).

    python -m tests.inbound.worker setup KIND --host H --port P --user U --password PW [options]
    python -m tests.inbound.worker setup graph --graph-mailbox M --issuer URL --client-id ID --client-secret S
        --tenant T [options]
    python -m tests.inbound.worker poll SOURCE_ID [--expire-lease] [--chunk N]
        [--crash-at stored:N|recorded:N|queued:N|told:N] [--how exit|kill] [--pause-at FILE [--pause-before P]]
    python -m tests.inbound.worker report SOURCE_ID

Each prints one JSON line. ``--crash-at stored:N`` ends the process abruptly right after the N-th raw blob
was stored (before its audit row is recorded); ``recorded:N`` right after the N-th chunk of audit rows was
committed (before the mailbox is told); ``queued:N`` right after the N-th chunk's processing tasks were sent
to the broker (after its commit, before the mailbox is told); ``told:N`` while the mailbox is told about the
N-th chunk, after its first half was told (flagged, moved or deleted) and before the rest is.
``--how kill`` uses SIGKILL, ``exit`` os._exit. ``--pause-at FILE`` creates FILE and waits until the test
removes it (e.g. having stopped the database meanwhile): ``--pause-before take:N`` (the default ``take:1``)
before the N-th chunk is fetched, ``commit:N`` before the N-th chunk of audit rows is committed (its blobs
stored); if that commit then fails, FILE.failed is created before the error goes on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
from typing import Any


def _die(how: str) -> None:
    sys.stdout.flush()
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(70)


def _install_crash(stage: str, count: int, how: str) -> None:
    import inbound.capture as capture
    from inbound.sources.imap import ImapSession

    seen = {"stored": 0, "recorded": 0, "queued": 0, "told": 0}
    store, commit, announce = capture._store_raw, capture._commit_chunk, capture._announce
    acknowledge = ImapSession.acknowledge

    def crashing_store(*args: Any, **kwargs: Any) -> str:
        name = store(*args, **kwargs)
        seen["stored"] += 1
        if stage == "stored" and seen["stored"] == count:
            _die(how)
        return name

    def crashing_commit(*args: Any, **kwargs: Any) -> list[str]:
        late = commit(*args, **kwargs)
        seen["recorded"] += 1
        if stage == "recorded" and seen["recorded"] == count:
            _die(how)
        return late

    def crashing_announce(*args: Any, **kwargs: Any) -> None:
        announce(*args, **kwargs)
        seen["queued"] += 1
        if stage == "queued" and seen["queued"] == count:
            _die(how)

    def crashing_acknowledge(self: ImapSession, envelopes: Any) -> None:
        seen["told"] += 1
        if stage == "told" and seen["told"] == count:
            acknowledge(self, envelopes[: len(envelopes) // 2])
            _die(how)
        acknowledge(self, envelopes)

    capture._store_raw = crashing_store
    capture._commit_chunk = crashing_commit
    capture._announce = crashing_announce
    ImapSession.acknowledge = crashing_acknowledge  # type: ignore[method-assign]


def _install_pause(marker: str, point: str) -> None:
    import time
    from pathlib import Path

    import inbound.capture as capture
    import inbound.retrieval as retrieval

    where, _, number = point.partition(":")
    path = Path(marker)
    calls = {"take": 0, "commit": 0}

    def pause_here(what: str) -> bool:
        calls[what] += 1
        if where != what or calls[what] != int(number or 1):
            return False
        path.write_text("paused")
        deadline = time.monotonic() + 120
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

    take, commit = retrieval._take_chunk, capture._commit_chunk

    def pausing_take(*args: Any, **kwargs: Any) -> None:
        pause_here("take")
        take(*args, **kwargs)

    def pausing_commit(*args: Any, **kwargs: Any) -> list[str]:
        paused = pause_here("commit")
        try:
            return commit(*args, **kwargs)
        except BaseException:
            if paused:
                Path(f"{marker}.failed").write_text("failed")
            raise

    retrieval._take_chunk = pausing_take
    capture._commit_chunk = pausing_commit


def setup(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.models import Security, Source
    from jemh.models import Instance

    instance, _ = Instance.objects.get_or_create(
        name=options.instance, defaults={"store_raw_mail": options.store_raw == "1"}
    )
    source = Source.objects.create(
        instance=instance,
        name=options.name,
        kind=options.kind,
        host=options.host or "",
        port=options.port,
        security=Security.NONE,
        username=options.user or "",
        password=options.password or "",
        read_strategy=options.strategy,
        move_to=options.move_to or "",
        delete_after_capture=options.delete_after,
        batch_limit=options.batch,
        maildir_path=options.maildir or "",
        graph_mailbox=options.graph_mailbox or "",
    )
    if options.issuer:  # a Microsoft Graph source: the instance's Microsoft OAuth app
        from jemh.models import OAuthApp, OAuthProvider

        OAuthApp.objects.update_or_create(
            instance=instance,
            provider=OAuthProvider.MICROSOFT,
            defaults={
                "client_id": options.client_id,
                "client_secret": options.client_secret,
                "tenant": options.tenant,
                "issuer_url": options.issuer,
            },
        )
    return {"source_id": source.pk, "name": source.name, "instance_id": instance.pk}


def poll(options: argparse.Namespace) -> dict[str, Any]:
    from datetime import timedelta

    from django.utils import timezone

    import inbound.sources.base as base
    from inbound.retrieval import poll as run_poll

    if options.expire_lease:  # the time a crashed poller's lease needs to run out has passed
        from inbound.models import Source

        Source.objects.filter(pk=options.source_id).update(poll_lease_until=timezone.now() - timedelta(seconds=1))
    if options.chunk:
        base.FETCH_CHUNK_MESSAGES = options.chunk
    if options.crash_at:
        stage, _, count = options.crash_at.partition(":")
        _install_crash(stage, int(count), options.how)
    if options.pause_at:
        _install_pause(options.pause_at, options.pause_before)
    return run_poll(options.source_id, force=True).as_dict()


def report(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.models import InboundMessage, Source, SourceReceipt
    from jemh.storage import blob_storage

    storage = blob_storage()
    rows = []
    for message in InboundMessage.objects.filter(source_id=options.source_id).order_by("pk"):
        digest = hashlib.sha256(storage.read_bytes(message.raw_blob)).hexdigest() if message.raw_blob else None
        rows.append(
            {
                "pk": message.pk,
                "message_id": message.message_id,
                "sha256": digest,
                "status": message.status,
                "outcome": message.outcome,
                "copies": message.duplicate_copies,
            }
        )
    receipts = SourceReceipt.objects.filter(source_id=options.source_id).count()
    source = Source.objects.get(pk=options.source_id)
    health = {
        "last_error": source.last_error,
        "consecutive_failures": source.consecutive_failures,
        "leased": bool(source.poll_lease_token),
    }
    return {"rows": rows, "receipts": receipts, "source": health}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("setup")
    make.add_argument("kind")
    make.add_argument("--name", default="crash")
    make.add_argument("--instance", default="Crash test")
    make.add_argument("--host")
    make.add_argument("--port", type=int)
    make.add_argument("--user")
    make.add_argument("--password")
    make.add_argument("--strategy", default="mark_read")
    make.add_argument("--move-to")
    make.add_argument("--delete-after", action="store_true")
    make.add_argument("--batch", type=int, default=100)
    make.add_argument("--maildir")
    make.add_argument("--store-raw", default="1")
    make.add_argument("--graph-mailbox")
    make.add_argument("--issuer")
    make.add_argument("--client-id")
    make.add_argument("--client-secret")
    make.add_argument("--tenant")
    run = sub.add_parser("poll")
    run.add_argument("source_id", type=int)
    run.add_argument("--chunk", type=int)
    run.add_argument("--crash-at")
    run.add_argument("--expire-lease", action="store_true")
    run.add_argument("--how", default="exit", choices=["exit", "kill"])
    run.add_argument("--pause-at")
    run.add_argument("--pause-before", default="take:1")
    show = sub.add_parser("report")
    show.add_argument("source_id", type=int)
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    import django

    django.setup()
    result = {"setup": setup, "poll": poll, "report": report}[options.command](options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
