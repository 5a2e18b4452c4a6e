"""Migration auditing 0004 on a table that already holds several captured rows of one Message-ID (races before
the constraint): the oldest keeps the hash and counts the others; the unique constraint then holds."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
BEFORE = [("auditing", "0003_inboundmessage_inbound_sender_recent_and_more")]
AFTER = [("auditing", "0004_unique_message_id_per_instance")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_duplicates_already_in_the_table_are_folded_into_the_oldest_row() -> None:
    apps = migrate(BEFORE)
    try:
        Instance = apps.get_model("jemh", "Instance")
        Source = apps.get_model("inbound", "Source")
        InboundMessage = apps.get_model("auditing", "InboundMessage")
        instance, other = Instance.objects.create(name="Old"), Instance.objects.create(name="Other")
        a = Source.objects.create(instance=instance, name="a", kind="pipe")
        b = Source.objects.create(instance=instance, name="b", kind="pipe")
        elsewhere = Source.objects.create(instance=other, name="a", kind="pipe")
        now = timezone.now()

        def row(source: Any, msgid: str, copies: int = 0) -> Any:
            return InboundMessage.objects.create(
                instance_id=source.instance_id,
                source=source,
                received_at=now,
                message_id_hash=msgid,
                duplicate_copies=copies,
            )

        first, second, third = row(a, "h1", 1), row(b, "h1", 2), row(a, "h1")
        single, other_instance = row(a, "h2"), row(elsewhere, "h1")
        test_case = InboundMessage.objects.create(instance_id=instance.pk, received_at=now, message_id_hash="h1")
        without = [row(a, ""), row(b, "")]

        apps = migrate(AFTER)
        InboundMessage = apps.get_model("auditing", "InboundMessage")
        fetch = lambda r: InboundMessage.objects.get(pk=r.pk)  # noqa: E731
        assert (fetch(first).message_id_hash, fetch(first).duplicate_copies) == ("h1", 1 + 2 + 2)
        assert fetch(second).message_id_hash == fetch(third).message_id_hash == ""
        assert fetch(second).duplicate_copies == 2  # kept: it says what that row counted
        assert (fetch(single).message_id_hash, fetch(single).duplicate_copies) == ("h2", 0)
        assert fetch(other_instance).message_id_hash == "h1"  # per instance
        assert fetch(test_case).message_id_hash == "h1"  # test-case rows (no source) are outside it
        assert all(fetch(r).message_id_hash == "" for r in without)
        with pytest.raises(IntegrityError), transaction.atomic():
            InboundMessage.objects.create(
                instance_id=instance.pk, source_id=b.pk, received_at=now, message_id_hash="h1"
            )
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
