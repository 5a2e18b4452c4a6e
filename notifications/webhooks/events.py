"""What a Jira webhook body says, in our terms: the event kind, the issue, who did it, what changed (pure: no I/O).

Shapes are those of the captured payloads in ``shared/jira/webhooks/``: ``jira:issue_created|updated|deleted``
with ``issue``, ``user`` and ``changelog``; ``comment_created`` with ``comment`` and, on Cloud, a trimmed
``issue`` (Data Center sends none: the issue id is only in ``comment.self``). A comment added on Cloud comes twice
(``comment_created`` and ``jira:issue_updated``/``issue_commented``): both get the external id ``comment:<id>``, so
the second is the same event as the first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notifications.choices import EventKind


class MalformedWebhook(ValueError):
    """The body is JSON but not a Jira webhook (the message says what is missing)."""


#: issue_event_type_name values of jira:issue_updated that are a comment being added
COMMENT_ADDED = {"issue_commented"}
ISSUE_IN_COMMENT_URL = re.compile(r"/issue/(?P<issue>[^/]+)/comment/")
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+")


@dataclass(frozen=True)
class WebhookEvent:
    """One webhook body, read. ``kind`` is None for an event notifications have no use for (the reason says why)."""

    name: str  # webhookEvent
    kind: str | None
    issue_key: str  # "" when the body names the issue only by id (Data Center comment_created)
    issue_id: str
    project_key: str
    actor: dict[str, str]
    changes: list[dict[str, Any]] = field(default_factory=list)
    comment_id: str | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    unused_reason: str = ""

    @property
    def external_id(self) -> str | None:
        """What makes two deliveries the same event: the comment for a comment added, else nothing (the delivery's
        own identifier is checked before this)."""
        return f"comment:{self.comment_id}" if self.kind == EventKind.COMMENTED and self.comment_id else None

    @property
    def only_comment_added(self) -> str | None:
        """The comment whose adding is all the event says (no field changed with it), if it is one."""
        return self.comment_id if self.kind == EventKind.COMMENTED and not self.changes else None


def person(raw: Any) -> dict[str, str] | None:
    """A Jira user object as our ``{account_id, email, name}`` (Cloud: accountId; Data Center: name)."""
    if not isinstance(raw, Mapping):
        return None
    return {
        "account_id": str(raw.get("accountId") or raw.get("name") or ""),
        "email": str(raw.get("emailAddress") or ""),
        "name": str(raw.get("displayName") or ""),
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read(body: Any) -> WebhookEvent:
    """The event of a webhook body; MalformedWebhook when it is not one."""
    if not isinstance(body, Mapping):
        raise MalformedWebhook("the body is not a JSON object")
    name = body.get("webhookEvent")
    if not isinstance(name, str) or not name:
        raise MalformedWebhook("the body has no webhookEvent")
    issue = _mapping(body.get("issue"))
    fields = _mapping(issue.get("fields"))
    comment = _mapping(body.get("comment")) or None
    changelog = _mapping(body.get("changelog"))
    items: list[Any] = changelog["items"] if isinstance(changelog.get("items"), list) else []
    changes = [
        {"field": str(i.get("field") or ""), "old": i.get("fromString"), "new": i.get("toString")}
        for i in items
        if isinstance(i, Mapping)
    ]
    type_name = _text(body.get("issue_event_type_name"))
    comment_id = str(comment.get("id")) if comment and comment.get("id") is not None else None
    issue_id = str(issue.get("id") or "")
    if not issue_id and comment:
        found = ISSUE_IN_COMMENT_URL.search(_text(comment.get("self")))
        issue_id = found["issue"] if found else ""
    kind: str | None = None
    unused = ""
    if name == "jira:issue_created":
        kind = EventKind.CREATED
    elif name == "jira:issue_deleted":
        kind = EventKind.DELETED
    elif name == "comment_created":
        kind = EventKind.COMMENTED
    elif name == "jira:issue_updated":
        if comment_id and type_name in COMMENT_ADDED:
            kind = EventKind.COMMENTED
        elif type_name == "issue_comment_edited" or type_name == "issue_comment_deleted":
            unused = f"a comment edited or deleted ({type_name}) notifies nobody"
        elif any(c["field"] == "resolution" and c["new"] and not c["old"] for c in changes):
            kind = EventKind.RESOLVED
        else:
            kind = EventKind.UPDATED
    else:
        unused = f"the webhook event {name!r} notifies nobody"
    actor = person(body.get("user")) or (person(comment.get("author")) if comment else None) or {}
    if kind == EventKind.COMMENTED and comment:  # the comment's author, not whoever the envelope names
        actor = person(comment.get("author")) or actor
    timestamp = body.get("timestamp")
    occurred = (
        datetime.fromtimestamp(timestamp / 1000, tz=UTC)
        if isinstance(timestamp, int | float) and not isinstance(timestamp, bool)
        else None
    )
    key = _text(issue.get("key")).strip().upper()
    project = _mapping(fields.get("project"))
    project_key = _text(project.get("key")).strip().upper() or (key.rsplit("-", 1)[0] if "-" in key else "")
    if kind is not None and not key and not issue_id:
        raise MalformedWebhook(f"the {name} body names no issue")
    if key and not ISSUE_KEY.fullmatch(key):
        raise MalformedWebhook(f"{key[:40]!r} is not a Jira issue key")
    return WebhookEvent(
        name=name,
        kind=kind,
        issue_key=key,
        issue_id=issue_id,
        project_key=project_key,
        actor=actor,
        changes=changes,
        comment_id=comment_id,
        snapshot=_snapshot(key, project_key, fields),
        occurred_at=occurred,
        unused_reason=unused,
    )


def _snapshot(key: str, project_key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """What the body shows of the issue (see ``IssueView.to_snapshot``): used only once the issue is gone."""

    def named(name: str) -> str:
        value = fields.get(name)
        return _text(value.get("name")) if isinstance(value, Mapping) else ""

    return {
        "key": key,
        "project_key": project_key,
        "summary": _text(fields.get("summary")),
        "status": named("status"),
        "priority": named("priority"),
        "issue_type": named("issuetype"),
        "resolution": named("resolution"),
        "reporter": person(fields.get("reporter")),
        "assignee": person(fields.get("assignee")),
    }
