"""Custom fields by name: resolved to Jira's ids (``customfield_10042``) from ``GET /field``, cached per site."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from trackers.jira.client import JiraClient

TTL = 300.0  # seconds a site's field list is trusted
_cache: dict[str, tuple[float, dict[str, FieldInfo]]] = {}
_lock = threading.Lock()

EMAIL_SENDER_ADDRESS = "Email Sender Address"
EMAIL_SENDER_NAME = "Email Sender Name"
EMAIL_PARTICIPANTS = "Email Participants"
EMAIL_FIELDS = (EMAIL_SENDER_ADDRESS, EMAIL_SENDER_NAME, EMAIL_PARTICIPANTS)


@dataclass(frozen=True)
class FieldInfo:
    id: str
    name: str
    custom: bool
    type: str  # the schema type: "string", "number", "array", ...
    custom_type: str  # e.g. "com.atlassian.jira.plugin.system.customfieldtypes:textarea"

    @property
    def is_rich_text(self) -> bool:
        """A multi-line text field: ADF on Cloud, wiki markup on Data Center."""
        return self.custom_type.endswith(":textarea")


class FieldMap:
    """The site's fields by name (exact first, then case-insensitively)."""

    def __init__(self, client: JiraClient) -> None:
        self.client = client

    def _fields(self, refresh: bool = False) -> dict[str, FieldInfo]:
        key = self.client.base_url
        with _lock:
            cached = _cache.get(key)
        if cached and not refresh and cached[0] > time.monotonic():
            return cached[1]
        fields: dict[str, FieldInfo] = {}
        for raw in self.client.get("field"):
            schema: dict[str, Any] = raw.get("schema") or {}
            info = FieldInfo(
                raw["id"], raw["name"], bool(raw.get("custom")), schema.get("type", ""), schema.get("custom", "")
            )
            fields.setdefault(info.name, info)
        with _lock:
            _cache[key] = (time.monotonic() + TTL, fields)
        return fields

    def find(self, name: str) -> FieldInfo | None:
        """The custom field called ``name``, or None (the list is read again if it is older than a few seconds, in
        case the field was created meanwhile)."""

        def lookup(fields: dict[str, FieldInfo]) -> FieldInfo | None:
            found = fields.get(name) or next((f for f in fields.values() if f.name.casefold() == name.casefold()), None)
            return found if found is not None and found.custom else None

        found = lookup(self._fields())
        if found is None:
            with _lock:
                expires = _cache.get(self.client.base_url, (0.0, {}))[0]
            if time.monotonic() > expires - TTL + 5:
                found = lookup(self._fields(refresh=True))
        return found

    def by_id(self, field_id: str) -> FieldInfo | None:
        return next((f for f in self._fields().values() if f.id == field_id), None)


def forget(base_url: str) -> None:
    """Drop a site's cached fields (after creating one)."""
    with _lock:
        _cache.pop(base_url.rstrip("/"), None)


PROPERTY = "jemh"  # the entity property (of issues and comments) holding what Jira does not keep


def jql_string(value: str) -> str:
    """A value inside a double-quoted JQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
