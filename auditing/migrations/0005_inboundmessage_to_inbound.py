"""InboundMessage now belongs to inbound (inbound 0004, which took over the table as it is): auditing forgets it.

State only: the table stays, now described by ``inbound.InboundMessage``.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auditing", "0004_unique_message_id_per_instance"),
        ("inbound", "0004_inboundmessage_from_auditing"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="InboundMessage")],
        ),
    ]
