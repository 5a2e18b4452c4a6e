"""Writing rows cheaply: one prepared ``UPDATE`` run with ``executemany`` for a list of model objects, and one
``INSERT`` of a fixed shape per model for the rows a worker adds to every message's issue.

Django's ``bulk_update`` builds one ``CASE WHEN pk=... THEN ...`` expression per row and field, which for a
handful of rows costs more to compile than saving them one by one. ``update_rows`` sends the same statement
for every object instead (psycopg pipelines it; SQLite runs it in a loop), with each value prepared by its
field exactly as ``save()`` would (so encrypted fields are encrypted and datetimes adapted for the backend).
``insert_row`` likewise skips the per-call work of Django's insert compiler: its statement is built once per model
and database, and psycopg keeps it prepared. ``model_columns`` and ``model_from_row`` read a model from a hand-written
SELECT without ``raw()``, whose column mapping and converters are worked out again on every query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections, router, transaction
from django.db.models import Field, Model

# Made inside the UPDATE (a one-row FROM item): local to the statement's transaction, as SET LOCAL would be.
_NO_WAIT = " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS jemh_no_wait"


def update_rows(objects: Sequence[Model], fields: Sequence[str], *, wait_for_flush: bool = True) -> int:
    """Save ``fields`` of each (already saved) object, all or none. Like ``save(update_fields=...)``
    per object, without signals and without ``auto_now`` (set such fields yourself). Returns how many rows were
    changed (fewer than the objects when some rows are gone).

    ``wait_for_flush=False`` (PostgreSQL, outside a transaction): the commit returns without waiting for its WAL
    to reach the disk (``synchronous_commit = off`` for this transaction only; the next durable commit of any
    session flushes it too), for writes a database crash may lose because they would be made again. One row is
    then still one statement: the setting is made inside it (``set_config(..., true)``), which PostgreSQL applies
    to the statement's own transaction, so no BEGIN, SET and COMMIT round trips are added."""
    if not objects:
        return 0
    model = type(objects[0])
    using = router.db_for_write(model)
    connection = connections[using]
    update = _update_statement(model, using, tuple(fields))
    no_wait = not wait_for_flush and connection.vendor == "postgresql" and not connection.in_atomic_block
    sql = f"UPDATE {update.table} SET {update.assignments}{_NO_WAIT if no_wait else ''} WHERE {update.where}"
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in update.fields] + [obj.pk]
        for obj in objects
    ]
    if len(rows) == 1:  # one statement is atomic on its own
        with connection.cursor() as cursor:
            cursor.execute(sql, rows[0])
            return max(cursor.rowcount, 0)
    with transaction.atomic(using=using), connection.cursor() as cursor:  # (the setting is local to this one)
        cursor.executemany(sql, rows)  # rowcount: the sum over the rows (psycopg 3, sqlite3)
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class _Update:
    """The parts of ``UPDATE table SET assignments WHERE table.pk = %s``: the fields' values, then the key."""

    table: str
    assignments: str
    where: str
    key: str  # the quoted ``table.pk``, for a RETURNING
    fields: tuple[Field[Any, Any], ...]


_updates: dict[tuple[type[Model], str, tuple[str, ...]], _Update] = {}


def _update_statement(model: type[Model], using: str, names: tuple[str, ...]) -> _Update:
    """The UPDATE of ``names`` by primary key, built once per model, database and fields."""
    key = (model, using, names)
    if key in _updates:
        return _updates[key]
    meta = model._meta
    fields: list[Field[Any, Any]] = []
    for name in names:
        field = meta.get_field(name)
        if not isinstance(field, Field) or field.column is None:
            raise ValueError(f"{model.__name__}.{name} is not a column of {meta.db_table}")
        fields.append(field)
    pk = meta.pk
    if pk is None or pk.column is None:
        raise ValueError(f"{model.__name__} has no primary key column")
    qn = connections[using].ops.quote_name
    table = qn(meta.db_table)
    assignments = ", ".join(f"{qn(str(field.column))} = %s" for field in fields)
    statement = _Update(table, assignments, f"{table}.{qn(pk.column)} = %s", f"{table}.{qn(pk.column)}", tuple(fields))
    _updates[key] = statement
    return statement


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: tuple[Field[Any, Any], ...]
    returns_pk: bool


_inserts: dict[tuple[type[Model], str, int, bool, bool], _Insert] = {}
_ROWS_PER_INSERT = 100  # well below every backend's limit on parameters per statement


def insert_row(obj: Model, *, skip_conflict: bool = False) -> bool:
    """Insert a new object (its primary key is generated), then set its primary key. Like
    ``save(force_insert=True)``, values prepared by each field as there (``auto_now`` and ``auto_now_add`` applied,
    encrypted fields encrypted), but without signals and without the model's own ``save()``: for models that have
    neither, or whose caller does what that ``save()`` would.

    ``skip_conflict``: a row a unique constraint already holds is not inserted (``ON CONFLICT DO NOTHING``, no
    error, so no savepoint is needed to go on in a transaction); returns whether the row was inserted (its primary
    key is set only then)."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    statement = _insert_statement(model, using, 1, skip_conflicts=skip_conflict, returning=True)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, _values(obj, statement, connection))
        if statement.returns_pk:  # (always so with skip_conflict: see _insert_statement)
            row = cursor.fetchone()
            if row is None:  # skipped: a unique constraint holds the row already
                return False
            pk = row[0]
        else:
            pk = cursor.lastrowid
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
    return True


def insert_row_touching(obj: Model, parent: Model, fields: Sequence[str]) -> bool:
    """:func:`insert_row` (``obj``), then :func:`update_rows` for ``parent``'s ``fields`` (e.g. the issue a new
    comment is on: its update time; ``auto_now`` fields are set, as by ``save()``): whether ``parent``'s row exists.
    When it does not, ``obj`` may be inserted all the same: roll the caller's transaction back (as after
    ``update_rows`` returned 0).

    On PostgreSQL both are one statement (the UPDATE a data-modifying CTE of the INSERT, which returns how many
    rows the UPDATE changed): one round trip and one plan instead of two; elsewhere (SQLite has no such CTEs) the two
    statements in turn."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    touch = _update_statement(type(parent), using, tuple(fields))
    if connection.vendor != "postgresql":
        insert_row(obj)
        for field in touch.fields:
            field.pre_save(parent, False)  # auto_now, as below
        return update_rows([parent], fields) > 0
    statement = _insert_statement(model, using, 1, skip_conflicts=False, returning=True)
    inserted = _values(obj, statement, connection)  # first, as in turn: the parent's auto_now is not earlier
    touched = [field.get_db_prep_save(field.pre_save(parent, False), connection) for field in touch.fields]
    update = f"UPDATE {touch.table} SET {touch.assignments} WHERE {touch.where} RETURNING {touch.key}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH jemh_touched AS ({update}) {statement.sql}, (SELECT count(*) FROM jemh_touched)",
            [*touched, parent.pk, *inserted],
        )
        row = cursor.fetchone()
    assert row is not None  # (a plain INSERT: it returns its row or raises)
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return bool(row[1])


def insert_new_rows(objects: Sequence[Model]) -> None:
    """Insert new objects of one model in one statement, skipping those a unique constraint already holds
    (``ON CONFLICT DO NOTHING``, PostgreSQL and SQLite alike): ``bulk_create(..., ignore_conflicts=True)``
    without its compiler. Values are prepared as by :func:`insert_row`; primary keys are not set."""
    if not objects:
        return
    model = type(objects[0])
    using = router.db_for_write(model)
    connection = connections[using]
    with connection.cursor() as cursor:
        for start in range(0, len(objects), _ROWS_PER_INSERT):
            chunk = objects[start : start + _ROWS_PER_INSERT]
            statement = _insert_statement(model, using, len(chunk), skip_conflicts=True, returning=False)
            cursor.execute(statement.sql, [value for obj in chunk for value in _values(obj, statement, connection)])


def _values(obj: Model, statement: _Insert, connection: Any) -> list[Any]:
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in statement.fields]


def _insert_statement(model: type[Model], using: str, rows: int, *, skip_conflicts: bool, returning: bool) -> _Insert:
    """The INSERT of ``rows`` rows of the model (returning their primary keys when asked), built once for the
    shapes that recur."""
    key = (model, using, rows, skip_conflicts, returning)
    if key in _inserts:
        return _inserts[key]
    meta = model._meta
    pk = meta.pk
    if pk is None or pk.column is None or not getattr(pk, "db_returning", False):
        raise ValueError(f"{model.__name__}: jemh.rows inserts need a primary key the database generates")
    fields = tuple(f for f in meta.concrete_fields if f is not pk)
    if any(f.column is None for f in fields):
        raise ValueError(f"{model.__name__}: jemh.rows inserts write column fields only")
    connection = connections[using]
    qn = connection.ops.quote_name
    returns_pk = returning and bool(connection.features.can_return_columns_from_insert)
    if skip_conflicts and returning and not returns_pk:
        raise ValueError(f"{connection.vendor} cannot say which rows an INSERT ... ON CONFLICT DO NOTHING inserted")
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returns_pk:
        sql += f" RETURNING {qn(pk.column)}"
    statement = _Insert(sql, fields, returns_pk)
    if rows <= 8:  # the shapes that recur; larger ones are built each time
        _inserts[key] = statement
    return statement


def model_columns(model: type[Model], table_alias: str) -> str:
    """The SELECT list of the model's columns (``alias."column", ...``, quoted as PostgreSQL and SQLite quote) in the
    order :func:`model_from_row` reads them."""
    return ", ".join(f'{table_alias}."{f.column}"' for f in model._meta.concrete_fields)


@dataclass(frozen=True)
class _Reader:
    fields: tuple[Field[Any, Any], ...]
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]  # (position, converters, expression)


_readers: dict[tuple[type[Model], str], _Reader] = {}


def _reader(model: type[Model], using: str) -> _Reader:
    key = (model, using)
    if key not in _readers:
        connection = connections[using]
        fields = tuple(model._meta.concrete_fields)
        converters = []
        for position, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)  # as the query compiler finds them: backend's, then field's
            found = (*connection.ops.get_db_converters(column), *column.get_db_converters(connection))
            if found:
                converters.append((position, tuple(found), column))
        _readers[key] = _Reader(fields, tuple(f.attname for f in fields), tuple(converters))
    return _readers[key]


M = TypeVar("M", bound=Model)


def model_from_row(model: type[M], values: Sequence[Any], using: str = "default") -> M:
    """The model instance of a row's first columns (selected by :func:`model_columns`), as a queryset would
    load it (each field's database converters applied, e.g. decryption; ``from_db``, so ``_state`` is set)."""
    reader = _reader(model, using)
    row = list(values[: len(reader.fields)])
    connection = connections[using]
    for position, converters, column in reader.converters:
        value = row[position]
        for converter in converters:
            value = converter(value, column, connection)
        row[position] = value
    return model.from_db(using, list(reader.attnames), row)
