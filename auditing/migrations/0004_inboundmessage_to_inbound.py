"""InboundMessage now belongs to inbound (inbound 0004, which took over the table as it is): auditing forgets it.

State only: the table stays, now described by ``inbound.InboundMessage``.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auditing", "0003_inboundmessage_inbound_sender_recent_and_more"),
        ("inbound", "0004_inboundmessage_from_auditing"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="InboundMessage")],
        ),
    ]
