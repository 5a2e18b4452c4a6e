"""A PostgreSQL function that takes the first free Jira call slot of a list in one statement (trackers.jira.concurrency):
a call that found its slot busy tried the others one round trip each."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION jemh_take_call_slot(space integer, candidates integer[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    slot integer;
BEGIN
    FOREACH slot IN ARRAY candidates LOOP
        IF pg_try_advisory_lock(space, slot) THEN
            RETURN slot;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS jemh_take_call_slot(integer, integer[]);"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("trackers", "0004_jira_issue_state")]

    operations = [migrations.RunPython(create, drop)]
