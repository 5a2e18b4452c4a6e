from django.db import migrations, models


class Migration(migrations.Migration):
    """Counters that add up across processes, for /metrics (jemh.metrics)."""

    dependencies = [("jemh", "0010_instance_members")]

    operations = [
        migrations.CreateModel(
            name="MetricCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                (
                    "labels",
                    models.CharField(
                        blank=True, help_text="name=value pairs, sorted, comma-separated", max_length=300
                    ),
                ),
                ("value", models.FloatField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("name", "labels"), name="jemh_metric_counter_series")
                ]
            },
        ),
    ]
