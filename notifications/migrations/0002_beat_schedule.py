"""Register the notifications' periodic tasks with django-celery-beat (editable in the admin afterwards)."""

from django.db import migrations

from jemh.beat import schedule_operations

register, unregister = schedule_operations([
    ("notifications: sweep lost batches and sends", "notifications.sweep", 1, "minutes"),
    ("notifications: purge expired events and outbound mail", "notifications.purge", 1, "hours"),
])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0016_alter_crontabschedule_timezone"),
    ]

    operations = [migrations.RunPython(register, unregister)]
