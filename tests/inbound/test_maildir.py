"""Maildir sources: new/ → captured → cur/ (or moved, or deleted)."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from pathlib import Path
from typing import Any

import pytest

from inbound.models import InboundMessage, ReadStrategy, Source, SourceKind
from inbound.retrieval import check_connection, poll
from jemh.storage import blob_storage
from tests.inbound.conftest import make_message

pytestmark = pytest.mark.django_db


@pytest.fixture()
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "Maildir"
    stdlib_mailbox.Maildir(path, create=True)
    return path


def deliver(path: Path, *messages: bytes) -> None:
    box = stdlib_mailbox.Maildir(path, create=False)
    for raw in messages:
        box.add(raw)


def source_for(instance: Any, path: Path, **fields: Any) -> Source:
    source = Source(
        instance=instance,
        name=f"md-{len(fields)}-{path.name}",
        kind=SourceKind.MAILDIR,
        maildir_path=str(path),
        **fields,
    )
    source.full_clean()
    source.save()
    return source


def test_maildir_new_to_cur(instance: Any, maildir: Path) -> None:
    messages = [make_message(subject="md one"), make_message(subject="md two")]
    deliver(maildir, *messages)
    source = source_for(instance, maildir)
    assert poll(source).captured == 2
    assert list((maildir / "new").iterdir()) == []
    assert sorted(p.name.endswith(":2,S") for p in (maildir / "cur").iterdir()) == [True, True]
    assert sorted(blob_storage().read_bytes(m.raw_blob) for m in InboundMessage.objects.all()) == sorted(messages)
    assert poll(source).captured == 0


def test_maildir_delete_and_move(instance: Any, maildir: Path, tmp_path: Path) -> None:
    deliver(maildir, make_message())
    assert poll(source_for(instance, maildir, read_strategy=ReadStrategy.DELETE)).captured == 1
    assert list((maildir / "new").iterdir()) == [] and list((maildir / "cur").iterdir()) == []
    other = tmp_path / "Other"
    stdlib_mailbox.Maildir(other, create=True)
    deliver(other, make_message())
    assert poll(source_for(instance, other, read_strategy=ReadStrategy.MOVE, move_to="Done")).captured == 1
    assert len(list((other / ".Done" / "cur").iterdir())) == 1


def test_recorded_but_not_moved_is_only_moved_next_time(
    instance: Any, maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(maildir, make_message())
    source = source_for(instance, maildir)
    from inbound.sources.maildir import MaildirSession

    monkeypatch.setattr(MaildirSession, "acknowledge", lambda self, envelopes: None)  # "crash" before telling
    assert poll(source).captured == 1
    assert len(list((maildir / "new").iterdir())) == 1
    monkeypatch.undo()
    again = poll(source)
    assert (again.captured, again.acknowledged) == (0, 1)
    assert list((maildir / "new").iterdir()) == [] and InboundMessage.objects.count() == 1


def test_not_a_maildir_shows_in_health(instance: Any, tmp_path: Path) -> None:
    source = source_for(instance, tmp_path / "missing")
    result = poll(source)
    source.refresh_from_db()
    assert result.status == "failed" and "missing" in source.last_error
    ok, said = check_connection(source)
    assert not ok and "missing" in said
