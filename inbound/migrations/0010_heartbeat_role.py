from django.db import migrations, models


class Migration(migrations.Migration):
    """Heartbeats carry their process's role (a Celery worker or Celery beat), for ``jemh health --role``."""

    dependencies = [("inbound", "0009_source_microsoft_graph")]

    operations = [
        migrations.AddField(
            model_name="workerheartbeat",
            name="role",
            field=models.CharField(
                choices=[("worker", "Celery worker"), ("beat", "Celery beat")], default="worker", max_length=16
            ),
        ),
        migrations.AlterField(
            model_name="workerheartbeat",
            name="worker",
            field=models.CharField(
                help_text="host:pid:boot-nonce, or role@host:pid", max_length=120, primary_key=True, serialize=False
            ),
        ),
    ]
