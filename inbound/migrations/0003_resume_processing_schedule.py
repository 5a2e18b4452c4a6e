"""Every minute, re-queue captured mail that waits too long (never queued, abandoned by a crash, or due again)."""

from django.db import migrations

from jemh.beat import schedule_operations

register, unregister = schedule_operations([
    ("inbound: resume waiting processing", "inbound.resume_processing", 1, "minutes"),
])


class Migration(migrations.Migration):
    dependencies = [
        ("inbound", "0002_source_profile"),
        ("django_celery_beat", "0016_alter_crontabschedule_timezone"),
    ]

    operations = [migrations.RunPython(register, unregister)]
