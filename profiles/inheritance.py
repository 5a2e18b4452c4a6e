"""Project mapping inheritance: a non-default mapping takes every value it leaves unset from the default one.

Pure: works on plain dicts of field values, so the models' validation and the configuration loader share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profiles.validators import EXPLICITLY_NONE, split_lines

# Single values: "" or None means "unset" (inherit).
SCALAR_FIELDS = (
    "project_key",
    "issue_type",
    "priority",
    "default_summary",
    "reporter_strategy",
    "default_reporter",
    "assignee_strategy",
    "assignee",
    "operating_mode",
    "unknown_sender_action",
    "addressee_handling",
    "stranger_action",
    "sender_becomes_participant",
    "addressees_per_message",
    "participants_per_issue",
)
# What a value left unset on the default mapping too means (fields added after mappings existed; the secure choice).
FALLBACKS: dict[str, Any] = {
    "stranger_action": "hold",
    "sender_becomes_participant": False,
    "addressees_per_message": 10,
    "participants_per_issue": 50,
}
# One regex per line: None or "" means "unset" (inherit); a line "(none)" means "no entries, do not inherit".
LIST_FIELDS = ("subject_cleanups", "body_cleanups", "body_delimiters")
INHERITABLE_FIELDS = SCALAR_FIELDS + LIST_FIELDS

# What the default mapping must set.
REQUIRED_ON_DEFAULT = (
    "project_key",
    "issue_type",
    "default_summary",
    "reporter_strategy",
    "assignee_strategy",
    "operating_mode",
    "unknown_sender_action",
    "addressee_handling",
)


def is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def list_value(text: str | None) -> tuple[str, ...]:
    lines = split_lines(text)
    return () if lines == [EXPLICITLY_NONE] else tuple(line for line in lines if line != EXPLICITLY_NONE)


def resolve(own: Mapping[str, Any], default: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """The effective values of a mapping (lists as tuples of patterns), and the names it inherited."""
    values: dict[str, Any] = {}
    inherited: set[str] = set()
    for name in INHERITABLE_FIELDS:
        value = own.get(name)
        if is_unset(value):
            value = default.get(name)
            inherited.add(name)
        if name in LIST_FIELDS:
            values[name] = list_value(value)
        elif name in FALLBACKS:
            values[name] = FALLBACKS[name] if is_unset(value) else value
        else:
            values[name] = "" if value is None else value
    return values, frozenset(inherited)


def missing_requirements(values: Mapping[str, Any]) -> dict[str, str]:
    """Problems of resolved values: field name -> message. Empty when the mapping can be used."""
    problems = {
        name: "The default mapping must set this." for name in REQUIRED_ON_DEFAULT if is_unset(values.get(name))
    }
    needs_reporter = values.get("reporter_strategy") in {"default_reporter", "email_only"}
    if needs_reporter and is_unset(values.get("default_reporter")):
        problems["default_reporter"] = "This reporter strategy needs a default reporter."
    if values.get("unknown_sender_action") == "email_only" and is_unset(values.get("default_reporter")):
        problems["default_reporter"] = "Email-only senders need a default reporter to create issues as."
    if values.get("assignee_strategy") == "fixed_user" and is_unset(values.get("assignee")):
        problems["assignee"] = "The fixed-user assignee strategy needs an assignee."
    return problems
