"""The issue a message created or commented on, as a plain-text column beside the encrypted report (an issue key is
not personal data), indexed for the audit's search; filled from the reports of the messages processed before it."""

from typing import Any

from django.db import migrations, models

BATCH = 500


def issue_key_of(outcome: str, report: Any) -> str:
    """A copy of ``inbound.pipeline.outcome.issue_key_of`` as it was when this migration was written."""
    if outcome not in ("created", "commented") or not isinstance(report, dict):
        return ""
    for step in reversed(report.get("steps") or []):
        details = step.get("details") if isinstance(step, dict) else None
        if isinstance(details, dict) and not details.get("dry_run") and isinstance(details.get("issue"), str):
            return str(details["issue"])[:64]
    return ""


def fill_issue_keys(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    message_model = apps.get_model("inbound", "InboundMessage")
    rows = message_model.objects.filter(outcome__in=["created", "commented"]).only("pk", "outcome", "report")
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        row.issue_key = issue_key_of(row.outcome, row.report)
        if row.issue_key:
            batch.append(row)
        if len(batch) >= BATCH:
            message_model.objects.bulk_update(batch, ["issue_key"])
            batch = []
    if batch:
        message_model.objects.bulk_update(batch, ["issue_key"])


class Migration(migrations.Migration):
    dependencies = [("inbound", "0005_claim_holder")]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="issue_key",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                condition=models.Q(("issue_key", ""), _negated=True), fields=["issue_key"], name="inbound_issue_key"
            ),
        ),
        migrations.RunPython(fill_issue_keys, migrations.RunPython.noop, elidable=True),
    ]
