"""What the fake Jira holds: users, projects, fields, issues, comments, attachments, properties; and its workflow.

Admin helpers here change the state directly (as a Jira admin would in Jira's own UI), never through the API."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ISSUE_TYPES = ("Task", "Bug", "Story")
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
DEFAULT_PRIORITY = "Medium"
RESOLUTIONS = ("Done", "Won't Do", "Duplicate")
DEFAULT_RESOLUTION = "Done"
#: status → category key ("new", "indeterminate", "done")
STATUSES = {"Open": "new", "In Progress": "indeterminate", "Resolved": "done", "Closed": "done", "Reopened": "new"}
#: from status → [(transition name, to status)]
WORKFLOW = {
    "Open": [("Start Progress", "In Progress"), ("Resolve Issue", "Resolved"), ("Close Issue", "Closed")],
    "In Progress": [("Stop Progress", "Open"), ("Resolve Issue", "Resolved"), ("Close Issue", "Closed")],
    "Reopened": [("Start Progress", "In Progress"), ("Resolve Issue", "Resolved"), ("Close Issue", "Closed")],
    "Resolved": [("Reopen Issue", "Open"), ("Close Issue", "Closed")],
    "Closed": [("Reopen Issue", "Open")],
}
TRANSITION_IDS = {
    "Start Progress": "4",
    "Stop Progress": "301",
    "Resolve Issue": "5",
    "Close Issue": "2",
    "Reopen Issue": "3",
}
#: the permissions the fake knows (Jira's keys and names); the service account has all of them unless revoked
PERMISSIONS = {
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT"),
    "CREATE_ISSUES": ("11", "Create Issues", "PROJECT"),
    "ADD_COMMENTS": ("15", "Add Comments", "PROJECT"),
    "CREATE_ATTACHMENTS": ("19", "Create Attachments", "PROJECT"),
    "EDIT_ISSUES": ("12", "Edit Issues", "PROJECT"),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "PROJECT"),
    "USER_PICKER": ("27", "Browse users and groups", "GLOBAL"),
    "ADMINISTER": ("0", "Administer Jira", "GLOBAL"),
}
#: the e-mail fields JEMH-style handlers keep on issues (created in every fake Jira, as JEMHC creates them)
EMAIL_FIELDS = {"Email Sender Address": "textfield", "Email Sender Name": "textfield", "Email Participants": "textarea"}


def now() -> datetime:
    return datetime.now(UTC)


def jira_time(moment: datetime) -> str:
    """Jira's timestamp format: ``2021-01-17T12:34:00.000+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


@dataclass
class User:
    account_id: str  # Cloud accountId; on Data Center the same as the name
    name: str
    email: str
    display_name: str
    active: bool = True
    hide_email: bool = False  # Cloud privacy setting


@dataclass
class Project:
    id: str
    key: str
    name: str
    lead: str | None
    counter: int = 0


@dataclass
class Field:
    id: str
    name: str
    custom: bool
    schema: dict[str, Any]


@dataclass
class Comment:
    id: str
    author: str
    body: Any
    created: datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attachment:
    id: str
    issue_id: str
    filename: str
    mime_type: str
    content: bytes
    author: str
    created: datetime


@dataclass
class Issue:
    id: str
    key: str
    project: str
    fields: dict[str, Any]
    created: datetime
    updated: datetime
    status: str = "Open"
    resolution: str | None = None
    resolved: datetime | None = None
    watchers: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


class State:
    """The fake's data, behind one lock (the server is threaded)."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.fields: list[Field] = [
            Field("summary", "Summary", False, {"type": "string", "system": "summary"}),
            Field("description", "Description", False, {"type": "string", "system": "description"}),
            Field("labels", "Labels", False, {"type": "array", "items": "string", "system": "labels"}),
        ]
        self.issues: dict[str, Issue] = {}  # by id
        self.grants: dict[tuple[str, str], set[str]] = {}  # (account id, project key) -> project permissions
        #: custom field ids that are not on the projects' create and edit screens (setting them is a 400)
        self.off_screen: set[str] = set()
        #: permissions the service account lacks: (project key or "" for global ones, permission key)
        self.revoked: set[tuple[str, str]] = set()
        self._ids = itertools.count(10000)
        self._field_ids = itertools.count(10100)
        for name, kind in EMAIL_FIELDS.items():
            self.add_custom_field(name, kind)

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- admin helpers (direct state changes) ---------------------------------------------------------------
    def add_user(self, name: str, email: str, display_name: str, *, active: bool = True) -> User:
        with self.lock:
            account_id = f"5b10ac8d82e05b22cc7d{len(self.users):04d}" if self.flavour == "cloud" else name
            user = User(account_id, name, email, display_name, active)
            self.users[account_id] = user
            return user

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        """Give the account these project permissions in the project (the permission scheme, in short)."""
        with self.lock:
            self.grants.setdefault((account_id, project_key.upper()), set()).update(permissions)

    def add_project(self, key: str, name: str, lead: str | None) -> Project:
        with self.lock:
            project = Project(self.next_id(), key, name, lead)
            self.projects[key] = project
            return project

    def add_custom_field(self, name: str, kind: str = "textfield") -> Field:
        with self.lock:
            existing = self.field_by_name(name)
            if existing is not None:
                return existing
            number = next(self._field_ids)
            schema = {
                "type": "string",
                "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{kind}",
                "customId": number,
            }
            created = Field(f"customfield_{number}", name, True, schema)
            self.fields.append(created)
            return created

    def revoke(self, permission: str, project: str = "") -> None:
        """Take a permission from the service account (a global one, such as USER_PICKER, with no project)."""
        with self.lock:
            self.revoked.add((project.upper(), permission))

    def has_permission(self, permission: str, project: str = "") -> bool:
        return (project.upper(), permission) not in self.revoked and ("", permission) not in self.revoked

    def delete_custom_field(self, name: str) -> None:
        with self.lock:
            self.fields = [f for f in self.fields if f.name != name]

    def delete_issue(self, key: str) -> None:
        with self.lock:
            issue = self.issue(key)
            assert issue is not None, key
            del self.issues[issue.id]

    # -- look-ups ----------------------------------------------------------------------------------------
    def field_by_name(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def field(self, field_id: str) -> Field | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def issue(self, id_or_key: str) -> Issue | None:
        if id_or_key in self.issues:
            return self.issues[id_or_key]
        wanted = id_or_key.upper()
        return next((i for i in self.issues.values() if i.key == wanted), None)

    def user(self, account_id: str | None) -> User | None:
        return self.users.get(account_id or "")

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self.users.values() if u.name == name), None)
