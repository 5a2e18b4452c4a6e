"""Writing many rows cheaply: one prepared ``UPDATE`` run with ``executemany`` for a list of model objects.

Django's ``bulk_update`` builds one ``CASE WHEN pk=... THEN ...`` expression per row and field, which for a
handful of rows costs more to compile than saving them one by one. ``update_rows`` sends the same statement
for every object instead (psycopg pipelines it; SQLite runs it in a loop), with each value prepared by its
field exactly as ``save()`` would (so encrypted fields are encrypted and datetimes adapted for the backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field, Model


def update_rows(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of each (already saved) object, all or none. Like ``save(update_fields=...)``
    per object, without signals and without ``auto_now`` (set such fields yourself)."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    concrete: list[Field[Any, Any]] = []
    columns: list[str] = []
    for name in fields:
        field = meta.get_field(name)
        if not isinstance(field, Field) or field.column is None:
            raise ValueError(f"{model.__name__}.{name} is not a column of {meta.db_table}")
        concrete.append(field)
        columns.append(field.column)
    pk = meta.pk
    if pk is None or pk.column is None:
        raise ValueError(f"{model.__name__} has no primary key column")
    using = router.db_for_write(model)
    connection = connections[using]
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(column)} = %s" for column in columns)
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(pk.column)} = %s"
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in concrete] + [obj.pk]
        for obj in objects
    ]
    if len(rows) == 1:  # one statement is atomic on its own
        with connection.cursor() as cursor:
            cursor.execute(sql, rows[0])
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
