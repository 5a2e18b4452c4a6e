
from django.db import migrations, models
from django.db.models import Count, F, Min, Sum


def keep_oldest_per_message_id(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    """Existing installs may hold several captured rows of one Message-ID (races before this constraint): the
    oldest keeps the Message-ID hash and counts the others (and their own counted copies) as its copies; the
    later rows keep everything else (their outcome, their report) but no longer carry the hash."""
    InboundMessage = apps.get_model("auditing", "InboundMessage")
    captured = InboundMessage.objects.exclude(message_id_hash="").filter(source__isnull=False)
    groups = (
        captured.values("instance_id", "message_id_hash")
        .annotate(rows=Count("pk"), first=Min("pk"))
        .filter(rows__gt=1)
        .order_by()
    )
    for group in groups.iterator():
        later = captured.filter(instance_id=group["instance_id"], message_id_hash=group["message_id_hash"]).exclude(
            pk=group["first"]
        )
        copies = group["rows"] - 1 + (later.aggregate(n=Sum("duplicate_copies"))["n"] or 0)
        later.update(message_id_hash="")
        InboundMessage.objects.filter(pk=group["first"]).update(duplicate_copies=F("duplicate_copies") + copies)


class Migration(migrations.Migration):
    """One captured row per Message-ID and instance (a partial unique constraint; later duplicates already in
    the table are folded into the oldest row first), and content dedupe per instance instead of per source."""

    dependencies = [
        ('auditing', '0003_inboundmessage_inbound_sender_recent_and_more'),
        ('inbound', '0003_resume_processing_schedule'),
        ('jemh', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(keep_oldest_per_message_id, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='inboundmessage',
            name='inbound_source_content',
        ),
        migrations.AlterField(
            model_name='inboundmessage',
            name='duplicate_copies',
            field=models.PositiveIntegerField(default=0, help_text='Further copies with the same Message-ID (or, without one, the same content) that arrived later (not processed again).'),
        ),
        migrations.AddIndex(
            model_name='inboundmessage',
            index=models.Index(fields=['instance', 'content_hash'], name='inbound_instance_content'),
        ),
        migrations.AddConstraint(
            model_name='inboundmessage',
            constraint=models.UniqueConstraint(condition=models.Q(models.Q(('message_id_hash', ''), _negated=True), ('source__isnull', False)), fields=('instance', 'message_id_hash'), name='inbound_unique_message_id'),
        ),
    ]
