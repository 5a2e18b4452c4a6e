"""Every hour, purge what the instances' retention settings say has gone (auditing.retention)."""

from django.db import migrations

from jemh.beat import schedule_operations

register, unregister = schedule_operations([
    ("auditing: retention purge", "auditing.purge", 1, "hours"),
])


class Migration(migrations.Migration):
    dependencies = [
        ("auditing", "0008_purge_run"),
        ("django_celery_beat", "0016_alter_crontabschedule_timezone"),
    ]

    operations = [migrations.RunPython(register, unregister)]
