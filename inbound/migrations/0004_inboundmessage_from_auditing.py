"""InboundMessage moves from the auditing app to inbound, the app that writes it, keeping its table.

Only Django's picture of the models changes (``SeparateDatabaseAndState`` with no database operations): the
table ``auditing_inboundmessage`` keeps its name, its rows, its indexes and its storage parameters (the fillfactor
set by auditing 0003), so nothing is copied or locked. The content type follows the model, so the admin's
permissions (``view_inboundmessage``) and history entries keep pointing at it. auditing 0005 then drops the
model from auditing's state.
"""

import django.db.models.deletion
from django.db import migrations, models

import jemh.fields

MODEL = "inboundmessage"


def _move_content_type(apps, schema_editor, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    """Relabel the model's content type (same row, so same permissions and admin history). A row already made
    under the new label (by a ``migrate`` that stopped half way) carries no history of its own: it gives way."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    moving = ContentType.objects.using(db).filter(app_label=old, model=MODEL)
    if not moving.exists():
        return  # a fresh database: content types are made after the migrations, under the model's new label
    ContentType.objects.using(db).filter(app_label=new, model=MODEL).delete()
    moving.update(app_label=new)


def content_type_to_inbound(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    _move_content_type(apps, schema_editor, "auditing", "inbound")


def content_type_to_auditing(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    _move_content_type(apps, schema_editor, "inbound", "auditing")


class Migration(migrations.Migration):
    dependencies = [
        ("inbound", "0003_resume_processing_schedule"),
        ("auditing", "0004_unique_message_id_per_instance"),
        ("jemh", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="InboundMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("received_at", models.DateTimeField(db_index=True)),
                        ("message_id", jemh.fields.EncryptedTextField(blank=True, default="")),
                        ("message_id_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("content_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("subject", jemh.fields.EncryptedTextField(blank=True, default="")),
                        ("sender", jemh.fields.EncryptedTextField(blank=True, default="")),
                        ("sender_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("recipients", jemh.fields.EncryptedJSONField(blank=True, default=dict, help_text="Addresses by header: To, Cc, Delivered-To, X-Original-To, ...")),
                        ("size", models.PositiveBigIntegerField(default=0, help_text="Bytes, as the source reported them.")),
                        ("raw_blob", models.CharField(blank=True, help_text="Name in the encrypted blob storage; blank when not kept.", max_length=500)),
                        ("raw_retained_until_processed", models.BooleanField(default=False, help_text="The instance does not keep raw mail: the blob exists only until processing ends, and processing must delete it.")),
                        ("duplicate_copies", models.PositiveIntegerField(default=0, help_text="Further copies with the same Message-ID (or, without one, the same content) that arrived later (not processed again).")),
                        ("status", models.CharField(choices=[("received", "Received (waiting for processing)"), ("processing", "Processing"), ("processed", "Processed"), ("failed", "Failed (will be retried)"), ("error", "Error (needs a human)")], db_index=True, default="received", max_length=16)),
                        ("outcome", models.CharField(blank=True, choices=[("created", "Issue created"), ("commented", "Comment added"), ("dropped", "Dropped"), ("filtered", "Filtered (left for a human)"), ("forwarded", "Forwarded"), ("rejected", "Rejected (sender told why)"), ("failed", "Failed (retryable)"), ("error", "Error (needs a human)")], max_length=16)),
                        ("report", jemh.fields.EncryptedJSONField(blank=True, default=dict, help_text="Each step's verdict and reason.")),
                        ("processed_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("instance", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="inbound_messages", to="jemh.instance")),
                        ("source", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="messages", to="inbound.source")),
                    ],
                    options={
                        "db_table": "auditing_inboundmessage",
                        "ordering": ["-received_at", "-pk"],
                        "indexes": [
                            models.Index(fields=["instance", "message_id_hash"], name="inbound_instance_msgid"),
                            models.Index(fields=["instance", "content_hash"], name="inbound_instance_content"),
                            models.Index(fields=["source", "received_at"], name="inbound_source_received"),
                            models.Index(fields=["instance", "sender_hash", "received_at"], name="inbound_sender_recent"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(models.Q(("message_id_hash", ""), _negated=True), ("source__isnull", False)),
                                fields=("instance", "message_id_hash"),
                                name="inbound_unique_message_id",
                            ),
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="sourcereceipt",
                    name="message",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="receipts", to="inbound.inboundmessage"),
                ),
            ],
        ),
        migrations.RunPython(content_type_to_inbound, content_type_to_auditing),
    ]
