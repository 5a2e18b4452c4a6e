from django.db import migrations, models

FILLFACTOR = 70  # per cent of each page filled by inserts; the rest keeps the row's updates on its own page


def leave_room_for_updates(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE auditing_inboundmessage SET (fillfactor = {FILLFACTOR})")


def fill_pages(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE auditing_inboundmessage RESET (fillfactor)")


class Migration(migrations.Migration):
    """Flood counting reads a sender's recent mail; processing updates each row twice (claim, outcome), which
    PostgreSQL can do in place (HOT) when the page has room and no index covers a changed column."""

    dependencies = [
        ('auditing', '0002_initial'),
        ('inbound', '0003_resume_processing_schedule'),
        ('jemh', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='inboundmessage',
            index=models.Index(fields=['instance', 'sender_hash', 'received_at'], name='inbound_sender_recent'),
        ),
        migrations.RunPython(leave_room_for_updates, fill_pages),
    ]
