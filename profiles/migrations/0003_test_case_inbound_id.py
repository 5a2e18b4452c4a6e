"""A test case remembers the inbound message it was made from, by id (inbound owns that row)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0002_encrypt_test_case_report'),
    ]

    operations = [
        migrations.AddField(
            model_name='testcase',
            name='inbound_id',
            field=models.BigIntegerField(blank=True, db_index=True, editable=False, help_text='The inbound message it was made from, by id (inbound owns that row); blank when pasted or uploaded.', null=True),
        ),
    ]
