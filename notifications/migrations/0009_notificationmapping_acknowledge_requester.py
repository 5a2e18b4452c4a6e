"""Acknowledgements to requesters (issue 19): on for new notification mappings; mappings that exist already keep
what they did (off), so upgrading sends nobody mail they did not get before."""

from django.db import migrations, models

HELP = (
    "When mail creates an issue, the person who wrote it (also one without an account) gets an acknowledgement "
    "with the issue's key and how to reply, instead of the creation notice, even with \"don't notify the person "
    "who made the change\". Never sent to automated mail (auto-replies, bounces, bulk and list mail)."
)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0008_jira_webhook_deliveries")]

    operations = [
        migrations.AddField(
            model_name="notificationmapping",
            name="acknowledge_requester",
            field=models.BooleanField(default=False, help_text=HELP, verbose_name="acknowledge new requests"),
        ),
        migrations.AlterField(
            model_name="notificationmapping",
            name="acknowledge_requester",
            field=models.BooleanField(default=True, help_text=HELP, verbose_name="acknowledge new requests"),
        ),
    ]
