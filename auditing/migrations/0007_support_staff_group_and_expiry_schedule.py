"""The ``Support staff`` group, holding the support permission (``auditing.view_flagged_mail``) and nothing else,
and the periodic task that records expired support flags (every 10 minutes)."""

from django.db import migrations

from jemh.beat import schedule_operations

GROUP = "Support staff"
PERMISSION = ("view_flagged_mail", "Support staff: can see mail flagged for support (and only that)")

register, unregister = schedule_operations([
    ("auditing: record expired support flags", "auditing.expire_support_flags", 10, "minutes"),
])


def create_group(apps, schema_editor):
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    content_type, _ = content_type_model.objects.get_or_create(app_label="auditing", model="supportflag")
    # post_migrate makes the model's permissions only after every migration: make this one now (it then finds it).
    permission, _ = permission_model.objects.get_or_create(
        content_type=content_type, codename=PERMISSION[0], defaults={"name": PERMISSION[1]}
    )
    group, _ = group_model.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auditing", "0006_support_flags_and_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0016_alter_crontabschedule_timezone"),
    ]

    operations = [
        migrations.RunPython(create_group, remove_group),
        migrations.RunPython(register, unregister),
    ]
