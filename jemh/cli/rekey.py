"""``python manage.py jemh rekey``: encrypt every encrypted field and every blob again under the first key of
JEMH_ENCRYPTION_KEYS, so that the keys after it can then be removed.

Resumable and safe to run while the system works: a value or blob already under the first key is left as it is
(so a second run, or one after an interruption, does only what is left), each field value is replaced only if it
did not change since it was read, and each blob is replaced whole. Progress goes to stderr."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

HELP = "Encrypt every stored secret and blob again under the first key of JEMH_ENCRYPTION_KEYS (resumable)."
BATCH = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=BATCH, help=f"rows per batch (default {BATCH})")


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, column) of every encrypted model field of every installed app."""
    from django.apps import apps

    from jemh.fields import EncryptedJSONField, EncryptedTextField

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField | EncryptedJSONField):
                pk = model._meta.pk
                if pk is not None and pk.column and field.column:
                    found.append((model._meta.db_table, pk.column, field.column))
    return sorted(found)


def rekey_column(table: str, pk: str, column: str, batch: int) -> tuple[int, int]:
    """Re-encrypt one column; returns (values looked at, values re-encrypted)."""
    from django.db import connection

    from jemh import crypto

    q = connection.ops.quote_name
    seen = changed = 0
    last: Any = None
    while True:
        with connection.cursor() as cursor:
            where = f"WHERE {q(column)} IS NOT NULL" + (f" AND {q(pk)} > %s" if last is not None else "")
            cursor.execute(
                f"SELECT {q(pk)}, {q(column)} FROM {q(table)} {where} ORDER BY {q(pk)} LIMIT %s",
                [*([last] if last is not None else []), batch],
            )
            rows = cursor.fetchall()
        if not rows:
            return seen, changed
        for row_pk, token in rows:
            seen += 1
            if not token or crypto.token_is_current(token):
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {q(table)} SET {q(column)} = %s WHERE {q(pk)} = %s AND {q(column)} = %s",
                    [crypto.rotate_text(token), row_pk, token],
                )
                changed += cursor.rowcount
        last = rows[-1][0]


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    from jemh import crypto
    from jemh.storage import blob_storage

    batch = int(options.get("batch") or BATCH)
    fields = blobs = 0
    for table, pk, column in encrypted_columns():
        seen, changed = rekey_column(table, pk, column, batch)
        fields += changed
        err.write(f"{table}.{column}: {changed} of {seen} re-encrypted\n")
    storage = blob_storage()
    seen = 0
    for name in storage.walk():
        seen += 1
        try:
            if not storage.is_current(name):
                storage.reencrypt(name)
                blobs += 1
        except crypto.DecryptionError as exc:
            err.write(f"blob {name}: {exc}\n")
            return 1
        if seen % batch == 0:
            err.write(f"blobs: {blobs} of {seen} re-encrypted so far\n")
    out.write(f"re-encrypted {fields} field values and {blobs} of {seen} blobs under the first key\n")
    return 0
