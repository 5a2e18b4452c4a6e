"""Model fields that keep secrets and personal data encrypted in the database."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from jemh import crypto


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; read back as plain text. Not searchable: pair with a keyed hash."""

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt_text(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return crypto.decrypt_text(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in {"isnull"}:
            raise TypeError(f"{self.name} is encrypted and cannot be filtered with __{lookup_name}; use its keyed hash")
        return super().get_lookup(lookup_name)


class EncryptedJSONField(models.TextField):
    """Any JSON-serialisable value, stored encrypted."""

    description = "JSON encrypted at rest"
    # For django-stubs: the attribute is set and read as any JSON value, not as the text it is stored as.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.encrypt_text(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(crypto.decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in {"isnull"}:
            raise TypeError(f"{self.name} is encrypted and cannot be filtered with __{lookup_name}")
        return super().get_lookup(lookup_name)
