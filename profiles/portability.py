"""Profile export and import as JSON: configuration only, never a password, token or key.

The export names no instance and holds no database ids; secrets and encrypted values are never exported
(test cases' raw messages are personal data and are exported only when asked for). Import validates
everything and is all-or-nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from jemh.fields import EncryptedJSONField, EncryptedTextField
from jemh.models import Instance
from profiles.models import (
    AttachmentExclusion,
    CatchAddress,
    DirectiveAlias,
    FieldProcessor,
    FilterRule,
    Hint,
    KnownFingerprint,
    MappingRule,
    Profile,
    ProjectMapping,
    TestCase,
    WorkflowAdvanceRule,
)

SCHEMA = "jemh.profile"
SCHEMA_VERSION = 1
# Fields added since schema version 1, by model: an export made before them lacks them and gets their defaults.
LATER_FIELDS: dict[str, frozenset[str]] = {
    "Profile": frozenset({"email_only_directives", "hint_grace_hours", "sender_authentication"}),
    "ProjectMapping": frozenset(
        {"addressees_per_message", "participants_per_issue", "sender_becomes_participant", "stranger_action"}
    ),
}

# A field whose name says it holds a secret is never exported, whatever its type.
SECRET_NAME = re.compile(r"password|passwd|token|secret|credential|(^|_)(api|private|access|encryption)_?key", re.I)

# (key in the export, model, name of its foreign key to the profile); mappings (with rules) are handled apart.
CHILDREN: tuple[tuple[str, type[models.Model]], ...] = (
    ("catch_addresses", CatchAddress),
    ("hints", Hint),
    ("filter_rules", FilterRule),
    ("aliases", DirectiveAlias),
    ("field_processors", FieldProcessor),
    ("attachment_exclusions", AttachmentExclusion),
    ("known_fingerprints", KnownFingerprint),
    ("workflow_rules", WorkflowAdvanceRule),
)


class ProfileImportError(Exception):
    """The file cannot be imported; the message says why and what to do."""


def exported_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The configuration fields of a model: no ids, relations, timestamps, encrypted values or secrets."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.is_relation or not field.editable:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if isinstance(field, EncryptedTextField | EncryptedJSONField) or SECRET_NAME.search(field.name):
            continue
        fields.append(field)
    return tuple(fields)


def _values(obj: models.Model) -> dict[str, Any]:
    return {field.name: getattr(obj, field.name) for field in exported_fields(type(obj))}


def export_profile(profile: Profile, include_test_cases: bool = False) -> dict[str, Any]:
    """The profile's configuration as a JSON-able dict. ``include_test_cases`` adds the test cases' raw
    messages, which are personal data: share such an export only where the mail itself may go."""
    data: dict[str, Any] = _values(profile)
    for key, _model in CHILDREN:
        data[key] = [_values(child) for child in getattr(profile, key).all()]
    data["mappings"] = [
        {**_values(mapping), "rules": [_values(rule) for rule in mapping.rules.all()]}
        for mapping in profile.mappings.all()
    ]
    if include_test_cases:
        data["test_cases"] = [{"name": case.name, "raw_message": case.raw_message} for case in profile.test_cases.all()]
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "profile": data}


def export_profile_json(profile: Profile, include_test_cases: bool = False) -> str:
    return json.dumps(export_profile(profile, include_test_cases), indent=2, ensure_ascii=False, sort_keys=True)


def import_profile(data: dict[str, Any] | str | bytes, instance: Instance, name: str | None = None) -> Profile:
    """Create a profile in ``instance`` from an export (a dict or its JSON text). All or nothing."""
    data = _load(data)
    profile_data = data["profile"]
    with transaction.atomic():
        values = _checked(
            profile_data,
            Profile,
            "profile",
            children={key for key, _ in CHILDREN} | {"mappings"},
            optional_children={"test_cases"},
        )
        if name:
            values["name"] = name
        if Profile.objects.filter(instance=instance, name=values.get("name")).exists():
            raise ProfileImportError(
                f"Instance {instance.name!r} already has a profile named {values.get('name')!r}: "
                "import it under another name."
            )
        profile = _create(Profile(instance=instance, **values), "profile")
        for key, model in CHILDREN:
            for index, item in enumerate(_list(profile_data, key, "profile")):
                path = f"profile.{key}[{index}]"
                _create(model(profile=profile, **_checked(item, model, path)), path)
        mappings = _list(profile_data, "mappings", "profile")
        # The default mapping first: the others are validated against it.
        order = sorted(
            range(len(mappings)),
            key=lambda i: not (isinstance(mappings[i], dict) and mappings[i].get("is_default") is True),
        )
        if sum(1 for m in mappings if isinstance(m, dict) and m.get("is_default") is True) != 1:
            raise ProfileImportError("profile.mappings: exactly one mapping must be the default (is_default true).")
        for index in order:
            path = f"profile.mappings[{index}]"
            item = mappings[index]
            mapping = _create(
                ProjectMapping(profile=profile, **_checked(item, ProjectMapping, path, children={"rules"})), path
            )
            for rule_index, rule in enumerate(_list(item, "rules", path)):
                rule_path = f"{path}.rules[{rule_index}]"
                _create(MappingRule(mapping=mapping, **_checked(rule, MappingRule, rule_path)), rule_path)
        for index, item in enumerate(_list(profile_data, "test_cases", "profile", optional=True)):
            path = f"profile.test_cases[{index}]"
            if (
                not isinstance(item, dict)
                or set(item) != {"name", "raw_message"}
                or not all(isinstance(v, str) for v in item.values())
            ):
                raise ProfileImportError(f"{path}: expected an object with the texts 'name' and 'raw_message'.")
            _create(TestCase(profile=profile, name=item["name"], raw_message=item["raw_message"]), path)
    return profile


def _load(data: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProfileImportError("The file is not UTF-8 text, so it is not a profile export.") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ProfileImportError(
                f"The file is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "export the profile again and upload that file unchanged."
            ) from None
    if not isinstance(data, dict) or "schema" not in data:
        raise ProfileImportError("This is not a profile export: it has no 'schema' field.")
    if data["schema"] != SCHEMA:
        raise ProfileImportError(f"This is not a profile export: its schema is {data['schema']!r}, not {SCHEMA!r}.")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProfileImportError(f"The export's schema_version {version!r} is not valid (expected a whole number).")
    if version > SCHEMA_VERSION:
        raise ProfileImportError(
            f"The export has schema_version {version}, made by a newer version of this software; this one reads "
            f"up to {SCHEMA_VERSION}. Upgrade, then import again."
        )
    if not isinstance(data.get("profile"), dict):
        raise ProfileImportError("The export has no 'profile' object.")
    unknown = set(data) - {"schema", "schema_version", "profile"}
    if unknown:
        raise ProfileImportError(f"The export has unknown top-level fields: {', '.join(sorted(unknown))}.")
    return data


def _list(data: dict[str, Any], key: str, path: str, optional: bool = False) -> list[Any]:
    if key not in data:
        if optional:
            return []
        raise ProfileImportError(f"{path}: the field {key!r} is missing.")
    if not isinstance(data[key], list):
        raise ProfileImportError(f"{path}.{key}: expected a list.")
    return data[key]


def _checked(
    data: Any,
    model: type[models.Model],
    path: str,
    children: AbstractSet[str] = frozenset(),
    optional_children: AbstractSet[str] = frozenset(),
) -> dict[str, Any]:
    """The field values of one object, after checking that every field is there with a value of the right type.
    A field added after schema version 1 (``LATER_FIELDS``) that the export lacks takes its default: an older
    export still imports, with those settings as a new profile would have them."""
    if not isinstance(data, dict):
        raise ProfileImportError(f"{path}: expected an object.")
    fields = {field.name: field for field in exported_fields(model)}
    later = LATER_FIELDS.get(model.__name__, frozenset())
    data = {**{n: fields[n].get_default() for n in later if n in fields and n not in data}, **data}
    missing = set(fields) - set(data)
    if missing or not children <= set(data):
        names = sorted(missing | (children - set(data)))
        raise ProfileImportError(f"{path}: missing field(s) {', '.join(names)}.")
    unknown = set(data) - set(fields) - children - optional_children
    if unknown:
        raise ProfileImportError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}.")
    for name, field in fields.items():
        _check_type(data[name], field, f"{path}.{name}")
    return {name: data[name] for name in fields}


def _check_type(value: Any, field: models.Field, path: str) -> None:
    if value is None:
        if not field.null:
            raise ProfileImportError(f"{path}: a value is required.")
        return
    if isinstance(field, models.BooleanField):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(field, models.IntegerField):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    else:
        ok, expected = isinstance(value, str), "a text"
    if not ok:
        raise ProfileImportError(f"{path}: expected {expected}, found {json.dumps(value)[:60]}.")


def _create(obj: models.Model, path: str) -> Any:
    try:
        obj.full_clean()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
        else:
            detail = " ".join(exc.messages)
        raise ProfileImportError(f"{path}: {detail}") from None
    obj.save()
    return obj
