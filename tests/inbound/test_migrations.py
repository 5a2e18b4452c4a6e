"""The move of InboundMessage from auditing to inbound (inbound 0004, auditing 0005) on a database with rows: the
table is kept as it is (rows, indexes, fillfactor), and the admin's content type and permissions follow the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inbound.models import InboundMessage, SourceReceipt
from tests.tenancy import member_of_every_instance

BEFORE = [
    ("auditing", "0004_unique_message_id_per_instance"),
    ("inbound", "0003_resume_processing_schedule"),
]
TABLE = "auditing_inboundmessage"


@pytest.fixture()
def executor(transactional_db: None) -> Iterator[MigrationExecutor]:
    """A migration executor; the database is migrated forward to the latest state again afterwards."""
    executor = MigrationExecutor(connection)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(executor: MigrationExecutor, targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; returns the historical apps of that state."""
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_rows_written_before_the_move_are_read_through_the_new_model(executor: MigrationExecutor) -> None:
    create_permissions(global_apps.get_app_config("inbound"), verbosity=0)  # as after `migrate`
    content_type = ContentType.objects.get_for_model(InboundMessage)
    ContentType.objects.clear_cache()

    old = migrate(executor, BEFORE)
    assert "inboundmessage" not in {m._meta.model_name for m in old.get_app_config("inbound").get_models()}
    old_type = ContentType.objects.get(pk=content_type.pk)
    assert (old_type.app_label, old_type.model) == ("auditing", "inboundmessage")  # unapplied: back where it was
    auditors = Group.objects.create(name="auditors")
    auditors.permissions.add(Permission.objects.get(content_type=old_type, codename="view_inboundmessage"))
    user = get_user_model().objects.create_user("auditor", "auditor@example.test", "pw-Long-enough-42")
    user.is_staff = True
    user.save()
    user.groups.add(auditors)

    instance = old.get_model("jemh", "Instance").objects.create(name="Acme")
    source = old.get_model("inbound", "Source").objects.create(instance=instance, name="pipe", kind="pipe")
    message = old.get_model("auditing", "InboundMessage").objects.create(
        instance=instance,
        source=source,
        received_at=timezone.now(),
        message_id="before@example.test",
        message_id_hash="a" * 64,
        subject="Written before the move",
        sender="ann@example.test",
        recipients={"To": ["help@example.test"]},
        status="processed",
        outcome="created",
        report={"steps": [{"step": "action", "reason": "issue created"}]},
    )
    old.get_model("inbound", "SourceReceipt").objects.create(source=source, key="uid-1", message_id=message.pk)

    migrate(executor, executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    moved = InboundMessage.objects.get(pk=message.pk)
    assert (moved.subject, moved.sender, moved.message_id) == (
        "Written before the move",
        "ann@example.test",
        "before@example.test",
    )
    assert moved.recipients == {"To": ["help@example.test"]} and moved.report["steps"][0]["step"] == "action"
    assert (moved.status, moved.outcome, moved.source.name, moved.instance.name) == (
        "processed",
        "created",
        "pipe",
        "Acme",
    )
    assert SourceReceipt.objects.get(key="uid-1").message == moved
    new_type = ContentType.objects.get_for_model(InboundMessage)
    assert new_type.pk == content_type.pk and new_type.app_label == "inbound"
    assert not ContentType.objects.filter(app_label="auditing", model="inboundmessage").exists()

    user = get_user_model().objects.get(pk=user.pk)  # a fresh permission cache
    assert user.has_perm("inbound.view_inboundmessage")
    member_of_every_instance(user)  # staff see their instances' mail (issue 14: tenants apart)
    client = Client()
    client.force_login(user)
    listing = client.get(reverse("admin:inbound_inboundmessage_changelist"))
    assert listing.status_code == 200 and "Written before the move" in listing.content.decode()


def test_the_table_keeps_its_name_indexes_and_fillfactor(db: None) -> None:
    assert InboundMessage._meta.db_table == TABLE
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    for index in InboundMessage._meta.indexes:
        assert index.name in constraints, index.name
        assert tuple(InboundMessage._meta.get_field(f).column for f in index.fields) in indexed
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])
            (options,) = cursor.fetchone()
        assert "fillfactor=70" in (options or [])
