"""Claims that follow their worker: who holds a message's claim and how often its processing overran its time
budget (neither column indexed, so processing's updates stay HOT on PostgreSQL), worker heartbeats, and the resume
sweep every 15 seconds instead of every minute (it queues the oldest waiting mail and takes over the claims of
dead workers)."""

from django.db import migrations, models

SWEEP = "inbound: resume waiting processing"


def every_15_seconds(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    schedule, _ = interval_model.objects.get_or_create(every=15, period="seconds")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).update(interval=schedule)


def every_minute(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    schedule, _ = interval_model.objects.get_or_create(every=1, period="minutes")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).update(interval=schedule)


class Migration(migrations.Migration):
    dependencies = [
        ("inbound", "0004_inboundmessage_from_auditing"),
        ("django_celery_beat", "0016_alter_crontabschedule_timezone"),
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
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                (
                    "worker",
                    models.CharField(
                        help_text="host:pid:boot-nonce", max_length=120, primary_key=True, serialize=False
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("beat_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(every_15_seconds, every_minute),
    ]
