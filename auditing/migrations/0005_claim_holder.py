from django.db import migrations, models


class Migration(migrations.Migration):
    """Claims that follow their worker: who holds a message's claim, and how often its processing overran its
    time budget. Neither column is indexed (processing's updates stay HOT on PostgreSQL)."""

    dependencies = [
        ("auditing", "0004_unique_message_id_per_instance"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="claimed_by",
            field=models.CharField(blank=True, default="", max_length=120),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="overruns",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Times processing this message ran past its time budget (twice: an error)."
            ),
        ),
    ]
