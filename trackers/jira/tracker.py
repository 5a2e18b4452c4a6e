"""JiraTracker: the Tracker interface on a Jira site, Cloud (REST v3, ADF) or Data Center (REST v2, wiki markup).

What Jira does not keep is kept beside it: our Markdown source and the e-mail-only author of a comment go into an
entity property ``jemh`` of the issue or comment (written in the same request that creates it); Message-IDs,
idempotency keys and attachment hashes into our own tables (:mod:`trackers.models`), never looked up by JQL.

Never a duplicate issue: an idempotency key is claimed in our database before the create request and written as
the issue's ``jemh.idempotencyKey`` property inside it; after a timeout, a dropped connection or a 5xx on create,
the issue is looked up by that property (``issue.property[jemh].idempotencyKey``) before anything is tried again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from jemh.crypto import keyed_hash, keyed_hash_candidates
from jemh.models import Instance
from trackers import errors
from trackers.interface import (
    PROJECT_PERMISSIONS,
    Actor,
    AttachmentUpload,
    IssueUpdate,
    NewComment,
    NewIssue,
    SubjectErasure,
    SubjectHoldings,
    TrackerAttachment,
    TrackerComment,
    TrackerIssue,
    TrackerProject,
    TrackerUser,
    Transition,
    _Unset,
    mail_comment_counts,
    normalize_message_id,
)
from trackers.jira import adf, subject, wiki
from trackers.jira.client import JiraClient
from trackers.jira.errors import JiraTemporaryError
from trackers.jira.fields import (
    EMAIL_FIELDS,
    EMAIL_PARTICIPANTS,
    EMAIL_SENDER_ADDRESS,
    EMAIL_SENDER_NAME,
    PROPERTY,
    FieldInfo,
    FieldMap,
    jql_string,
)
from trackers.jira.issue_state import MISS, IssueStates, Lookup
from trackers.jira.users import UserDirectory
from trackers.models import MessageIdKind, RemoteAttachment, RemoteIdempotencyKey, RemoteMessageId

T = TypeVar("T")

TEXT_LIMIT = 32767  # Jira's limit for descriptions and comment bodies
PROPERTY_LIMIT = 30000  # bytes of our Markdown kept in the property (Jira allows 32,768 per property)
CLAIM_TIMEOUT = timedelta(seconds=60)  # a claim older than this belongs to a worker that died
RECHECK_AFTER = timedelta(seconds=5)  # after a lost create answer, when a retry may look the issue up
SUMMARY_LIMIT = 255


def _jira_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _key(key: str) -> str:
    return key.strip().upper()


def _message_id_hash(message_id: str) -> str:
    return keyed_hash(normalize_message_id(message_id), purpose="message-id")


def _check_address(address: str, role: str) -> str:
    value = address.strip()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise errors.InvalidFieldValue(f"{role}: {address!r} is not an e-mail address") from exc
    return value


def _dedupe_addresses(addresses: Iterable[str], role: str) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for address in addresses:
        if not address or not address.strip():
            continue
        value = _check_address(address, role)
        if value.casefold() not in seen:
            seen.add(value.casefold())
            result.append(value)
    return result


def _check_json(value: Any, role: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise errors.InvalidFieldValue(f"{role}: {value!r} is not a JSON value (text, number, list)") from exc


class _SiteCache:
    """What changes rarely on a site (projects with their issue types and statuses, priorities, resolutions),
    shared by the tracker objects of a process for a few minutes, so warm calls cost no look-ups."""

    TTL = 300.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str, str], tuple[float, Any]] = {}

    def get(self, key: tuple[str, str, str]) -> Any:
        with self._lock:
            found = self._values.get(key)
        return found[1] if found and found[0] > time.monotonic() else None

    def put(self, key: tuple[str, str, str], value: Any) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + self.TTL, value)


_site_cache = _SiteCache()


MAX_PROJECTS_LISTED = 1000  # an admin's choice list, not an export: a site with more is typed into


class JiraTracker:
    """The Jira site of one instance. Cheap to create; one per unit of work (projects are memoised in it)."""

    kind = "jira"

    def __init__(self, instance: Instance, client: JiraClient) -> None:
        self.instance = instance
        self.client = client
        self.cloud = client.is_cloud
        self.fields = FieldMap(client)
        self.users = UserDirectory(client)
        self._projects: dict[str, tuple[TrackerProject, dict[str, str]]] = {}
        self._project_ids: dict[str, int] = {}
        self._priorities: list[dict[str, Any]] | None = None
        self._resolutions: list[dict[str, Any]] | None = None
        # (issue key, comment id) of comments this object made or read: attaching to one needs no look-up
        self._comments: set[tuple[str, str]] = set()
        # the attachment lists of issues this object read (a unit of work's later look-ups need no call); extended
        # by this object's uploads when the shared cache knows the list, else dropped
        self._attachments: dict[str, list[dict[str, Any]]] = {}
        # the issue states every worker shares (trackers.jira.issue_state); bypassed while this is set
        self.states = IssueStates(instance.pk or 0, client.base_url)
        self._fresh_reads = False

    # -- text ---------------------------------------------------------------------------------------------
    def _render(self, markdown: str) -> Any:
        return adf.markdown_to_adf(markdown) if self.cloud else wiki.markdown_to_wiki(markdown)

    def _render_lines(self, lines: Sequence[str]) -> Any:
        return adf.lines_to_adf(list(lines)) if self.cloud else "\n".join(lines)

    def _plain(self, value: Any) -> str:
        if value is None:
            return ""
        return adf.adf_to_text(value) if self.cloud else str(value)

    def _lines(self, value: Any) -> list[str]:
        if value is None:
            return []
        if self.cloud:
            return adf.adf_lines(value)
        return [line.strip() for line in str(value).splitlines() if line.strip()]

    def _source(self, markdown: str, rendered: Any) -> dict[str, Any]:
        """What the property keeps of a text: the Markdown (when it fits) and the hash of what Jira got."""
        kept: dict[str, Any] = {"renderedSha": _sha(rendered)}
        if len(json.dumps(markdown).encode()) <= PROPERTY_LIMIT:
            kept["markdown"] = markdown
        else:
            kept["tail"] = markdown[len(markdown.rstrip()) :]
        return kept

    def _text_back(self, rendered: Any, source: Mapping[str, Any] | None) -> str:
        """Our Markdown if Jira's text is still what we wrote, else Jira's text as plain text."""
        if source and source.get("renderedSha") == _sha(rendered):
            if "markdown" in source:
                return str(source["markdown"])
            return self._plain(rendered) + str(source.get("tail", ""))
        return self._plain(rendered)

    # -- projects and users -------------------------------------------------------------------------------
    def _project(self, project_key: str) -> tuple[TrackerProject, dict[str, str]]:
        wanted = _key(project_key)
        if wanted in self._projects:
            return self._projects[wanted]
        cached = _site_cache.get((self.client.base_url, "project", wanted))
        if cached is not None:
            self._projects[wanted] = cached
            return cached
        if not wanted:
            raise errors.ProjectNotFound("no project key given")
        raw = self.client.get(
            f"project/{wanted}",
            params={"expand": "issueTypes,lead"},
            not_found=errors.ProjectNotFound,
            what=f"project {project_key!r} (fix the project mapping, or check the Jira account may browse it)",
        )
        statuses: list[str] = []
        for issue_type in self.client.get(f"project/{wanted}/statuses", not_found=errors.ProjectNotFound):
            for status in issue_type.get("statuses") or []:
                if status["name"] not in statuses:
                    statuses.append(status["name"])
        types = [t for t in raw.get("issueTypes") or [] if not t.get("subtask")]
        priorities = self._priority_list()
        default_priority = next((p["name"] for p in priorities if p.get("isDefault")), None)
        if default_priority is None:  # Data Center's /priority does not say: Jira's shipped default
            default_priority = next((p["name"] for p in priorities if p["name"] == "Medium"), priorities[0]["name"])
        lead = self.users.remember(raw["lead"]) if raw.get("lead") else None
        project = TrackerProject(
            key=raw["key"],
            name=raw["name"],
            lead=lead,
            default_issue_type=types[0]["name"] if types else "",
            default_priority=default_priority,
            issue_types=tuple(t["name"] for t in types),
            priorities=tuple(p["name"] for p in priorities),
            statuses=tuple(statuses),
        )
        type_ids = {t["name"].casefold(): t["id"] for t in types}
        self._projects[wanted] = (project, type_ids)
        _site_cache.put((self.client.base_url, "project", wanted), self._projects[wanted])
        return self._projects[wanted]

    def _priority_list(self) -> list[dict[str, Any]]:
        if self._priorities is None:
            self._priorities = _site_cache.get((self.client.base_url, "priority", ""))
        if self._priorities is None:
            self._priorities = list(self.client.get("priority"))
            _site_cache.put((self.client.base_url, "priority", ""), self._priorities)
        return self._priorities

    def _resolution_list(self) -> list[dict[str, Any]]:
        if self._resolutions is None:
            self._resolutions = _site_cache.get((self.client.base_url, "resolution", ""))
        if self._resolutions is None:
            self._resolutions = list(self.client.get("resolution"))
            _site_cache.put((self.client.base_url, "resolution", ""), self._resolutions)
        return self._resolutions

    def get_project(self, project_key: str) -> TrackerProject:
        return self._project(project_key)[0]

    def project_keys(self) -> tuple[str, ...]:
        """Cloud pages through ``project/search``; Data Center answers ``GET project`` in one list (no search)."""
        if not self.client.is_cloud:
            raw = self.client.get("project", what="the list of projects")
            return tuple(sorted(p["key"] for p in raw))
        keys: list[str] = []
        start = 0
        while True:
            page = self.client.get(
                "project/search", params={"startAt": start, "maxResults": 50}, what="the list of projects"
            )
            values = page.get("values") or []
            keys += [p["key"] for p in values]
            start += len(values)
            if page.get("isLast", True) or not values or len(keys) >= MAX_PROJECTS_LISTED:
                return tuple(sorted(keys))

    def find_user_by_email(self, email: str) -> TrackerUser | None:
        return self.users.by_email(email)

    def find_users_by_email(self, emails: Sequence[str]) -> dict[str, TrackerUser | None]:
        """Jira has no bulk look-up by e-mail: the searches run side by side (cached ones cost nothing)."""
        distinct = list(dict.fromkeys(emails))
        found = dict(zip(distinct, _side_by_side(self.users.by_email, distinct), strict=True))
        return {address: found[address] for address in emails}

    def user_lookup_note(self, email: str) -> str:
        return self.users.note(email)

    def get_user(self, account_id: str) -> TrackerUser | None:
        return self.users.by_id(account_id)

    def project_permissions(self, account_id: str, project_key: str, permissions: Iterable[str]) -> frozenset[str]:
        """Jira's bulk permission check (``POST permissions/check``) for the account in the project: one call."""
        wanted = sorted(frozenset(permissions) & PROJECT_PERMISSIONS)
        project_id = self._project_id(project_key)
        user = self.users.by_id(account_id)
        if not wanted or user is None or not user.active:
            return frozenset()
        body = {"accountId": account_id, "projectPermissions": [{"permissions": wanted, "projects": [project_id]}]}
        raw = self.client.request("POST", "permissions/check", json=body, what="the permission check").json()
        return frozenset(
            grant["permission"]
            for grant in raw.get("projectPermissions") or []
            if grant.get("permission") in wanted and project_id in (grant.get("projects") or [])
        )

    def _project_id(self, project_key: str) -> int:
        wanted = _key(project_key)
        if wanted not in self._project_ids:
            if not wanted:
                raise errors.ProjectNotFound("no project key given")
            raw = self.client.get(f"project/{wanted}", not_found=errors.ProjectNotFound, what=f"project {wanted!r}")
            self._project_ids[wanted] = int(raw["id"])
        return self._project_ids[wanted]

    def _account(
        self, account_id: str, role: str, inactive: type[errors.TrackerError] = errors.InvalidFieldValue
    ) -> TrackerUser:
        user = self.users.by_id(account_id)
        if user is None:
            raise errors.UserNotFound(f"{role}: no Jira user with the account id {account_id!r}")
        if not user.active:
            raise inactive(f"{role}: the Jira account {account_id!r} is inactive")
        return user

    def _check_actor(self, actor: Actor | None) -> None:
        if actor is not None and actor.account_id:
            self._account(actor.account_id, "actor", errors.PermissionDenied)

    def _user_ref(self, account_id: str) -> dict[str, str]:
        return {"accountId": account_id} if self.cloud else {"name": account_id}

    def _field(self, name: str) -> FieldInfo:
        info = self.fields.find(name)
        if info is None:
            raise errors.InvalidFieldValue(
                f"Jira has no custom field {name!r}: create it (a single-line text field) and add it to the project's "
                "screens, or fix the mapping"
            )
        return info

    def _custom_value(self, info: FieldInfo, value: Any) -> Any:
        _check_json(value, info.name)
        if value is None:
            return None
        if info.is_rich_text:
            return self._render(str(value))
        if info.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if info.type == "array" and isinstance(value, list):
            return value
        if isinstance(value, str):
            return value
        raise errors.InvalidFieldValue(f"{info.name}: Jira's field takes {info.type or 'text'}, not {value!r}")

    # -- reading issues -------------------------------------------------------------------------------------
    def _fetch(self, key: str) -> dict[str, Any] | None:
        response = self.client.request(
            "GET", f"issue/{_key(key)}", params={"properties": PROPERTY, "fields": "*all"}, not_found=None
        )
        if response.status_code == 404:
            return None
        raw: dict[str, Any] = response.json()
        attachments = (raw.get("fields") or {}).get("attachment")
        if isinstance(attachments, list):
            self._attachments[_key(raw.get("key") or key)] = attachments
        return raw

    def _to_issue(self, raw: dict[str, Any]) -> TrackerIssue:
        fields = raw.get("fields") or {}
        props = (raw.get("properties") or {}).get(PROPERTY) or {}
        watchers: tuple[TrackerUser, ...] = ()
        if (fields.get("watches") or {}).get("watchCount"):
            body = self.client.get(f"issue/{raw['key']}/watchers", not_found=errors.IssueNotFound)
            watchers = tuple(self.users.remember(w) for w in body.get("watchers") or [])
        email = {name: self.fields.find(name) for name in EMAIL_FIELDS}
        email_ids = {info.id for info in email.values() if info is not None}

        def value(name: str) -> Any:
            info = email[name]
            return fields.get(info.id) if info is not None else None

        custom: dict[str, Any] = {}
        for field_id, field_value in fields.items():
            if not field_id.startswith("customfield_") or field_id in email_ids or field_value in (None, "", []):
                continue
            info = self.fields.by_id(field_id)
            if info is not None:
                custom[info.name] = self._plain(field_value) if info.is_rich_text else field_value
        return TrackerIssue(
            key=raw["key"],
            project_key=(fields.get("project") or {}).get("key", raw["key"].rsplit("-", 1)[0]),
            summary=fields.get("summary") or "",
            description=self._text_back(fields.get("description"), props.get("description"))
            if fields.get("description")
            else "",
            issue_type=(fields.get("issuetype") or {}).get("name", ""),
            priority=(fields.get("priority") or {}).get("name", ""),
            status=(fields.get("status") or {}).get("name", ""),
            resolution=(fields.get("resolution") or {}).get("name", "") if fields.get("resolution") else "",
            resolved_at=_jira_time(fields.get("resolutiondate")),
            created_at=_jira_time(fields.get("created")) or timezone.now(),
            updated_at=_jira_time(fields.get("updated")) or timezone.now(),
            reporter=self.users.remember(fields["reporter"]) if fields.get("reporter") else None,
            assignee=self.users.remember(fields["assignee"]) if fields.get("assignee") else None,
            labels=tuple(fields.get("labels") or ()),
            watchers=watchers,
            email_sender_address=str(value(EMAIL_SENDER_ADDRESS) or ""),
            email_sender_name=str(value(EMAIL_SENDER_NAME) or ""),
            email_participants=tuple(self._lines(value(EMAIL_PARTICIPANTS))),
            custom_fields=custom,
            comment_count=_comment_total(fields.get("comment")),
        )

    def _read(self, key: str) -> tuple[TrackerIssue, list[dict[str, Any]] | None] | None:
        """The issue as Jira has it now, with its attachment list; None if there is none (Jira calls only, no
        database: safe in a worker thread)."""
        raw = self._fetch(key)
        if raw is None:
            return None
        attachments = (raw.get("fields") or {}).get("attachment")
        return self._to_issue(raw), attachments if isinstance(attachments, list) else None

    def _remember(
        self, key: str, lookup: Lookup, read: tuple[TrackerIssue, list[dict[str, Any]] | None] | None
    ) -> None:
        """Keep what a read of ``key`` found in the shared cache (unless the issue changed since ``lookup``)."""
        if read is None:
            if lookup.version is not None:  # a kept issue that is gone (deleted, or no longer visible to us)
                self.states.forget(key, tombstone=False)
            return
        issue, attachments = read
        if _key(issue.key) == key:  # not when asked by id or by a moved issue's old key
            self.states.store(key, issue, attachments, lookup.version)

    def find_issue(self, key: str) -> TrackerIssue | None:
        if not key or not key.strip():
            return None
        return self.find_issues([key]).get(key)

    def find_issues(self, keys: Sequence[str]) -> dict[str, TrackerIssue]:
        """From the shared cache where it has a fresh entry (one query for all), else one GET per issue, side by side
        (a JQL ``key in (...)`` fails as a whole for a key that does not exist)."""
        wanted = {key: _key(key) for key in dict.fromkeys(keys) if key and key.strip()}
        normalized = list(dict.fromkeys(wanted.values()))
        lookups = self.states.look(normalized)
        found: dict[str, TrackerIssue] = {}
        for key in normalized:
            cached = lookups[key].cached
            if cached is not None and not self._fresh_reads:
                found[key] = cached.issue
                if cached.attachments is not None:
                    self._attachments[key] = cached.attachments
        missing = [key for key in normalized if key not in found]
        reads = dict(zip(missing, _side_by_side(self._read, missing), strict=True))  # Jira only: no database
        for key, read in reads.items():
            self._remember(key, lookups[key], read)
            if read is not None:
                found[key] = read[0]
        return {key: found[norm] for key, norm in wanted.items() if norm in found}

    def get_issue(self, key: str) -> TrackerIssue:
        issue = self.find_issue(key)
        if issue is None:
            raise errors.IssueNotFound(
                f"no issue {key!r} in Jira at {self.client.base_url} (or no permission to browse it)"
            )
        return issue

    def _current(self, key: str) -> TrackerIssue:
        """The issue as Jira has it now (never the cache: a write merges with it, or a write just changed it),
        kept in the cache for the reads that follow."""
        wanted = _key(key)
        lookup = self.states.look([wanted])[wanted] if wanted else MISS  # the version, noted before asking Jira
        read = self._read(wanted) if wanted else None
        self._remember(wanted, lookup, read)
        if read is None:
            raise errors.IssueNotFound(
                f"no issue {key!r} in Jira at {self.client.base_url} (or no permission to browse it)"
            )
        return read[0]

    @contextmanager
    def _changing(self, key: str) -> Iterator[None]:
        """A write to the issue: its cached state is dropped whatever the answer (a lost answer may have changed it)."""
        try:
            yield
        finally:
            self.states.forget(_key(key))

    @contextmanager
    def _gone_if_missing(self, key: str) -> Iterator[None]:
        """A call about the issue: if Jira says there is no such issue, its cached state is dropped."""
        try:
            yield
        except errors.IssueNotFound:
            self.states.forget(_key(key), tombstone=False)
            raise

    @contextmanager
    def fresh_reads(self) -> Iterator[None]:
        """Within this, issues are read from Jira, never from the cache (finding and erasing a data subject)."""
        before, self._fresh_reads = self._fresh_reads, True
        try:
            yield
        finally:
            self._fresh_reads = before

    def _require_issue(self, key: str) -> None:
        response = self.client.request("GET", f"issue/{_key(key)}", params={"fields": "summary"}, not_found=None)
        if response.status_code == 404:
            self.states.forget(_key(key), tombstone=False)
            raise errors.IssueNotFound(f"no issue {key!r} in Jira at {self.client.base_url}")

    def find_issue_by_message_ids(self, message_ids: Sequence[str]) -> TrackerIssue | None:
        for message_id in message_ids:
            if (
                not message_id
                or normalize_message_id(message_id) == "<>"
                or not normalize_message_id(message_id)[1:-1].strip()
            ):
                continue
            hashes = keyed_hash_candidates(normalize_message_id(message_id), purpose="message-id")
            keys = RemoteMessageId.objects.filter(instance=self.instance, message_id_hash__in=hashes).order_by(
                "-created_at"
            )
            for key in keys.values_list("issue_key", flat=True):
                issue = self.find_issue(key)
                if issue is not None:
                    return issue
        return None

    def _search(self, jql: str, fields: list[str], limit: int = 50) -> list[dict[str, Any]]:
        body = {"jql": jql, "fields": fields, "maxResults": limit}
        path = "search/jql" if self.cloud else "search"
        return list(self.client.request("POST", path, json=body, retry_unsafe=True).json().get("issues") or [])

    def find_issue_by_foreign_key(
        self, field_name: str, value: str, project_key: str | None = None
    ) -> TrackerIssue | None:
        clauses = []
        if project_key is not None:
            clauses.append(f'project = "{self._project(project_key)[0].key}"')
        info = self.fields.find(field_name)
        if info is None or not value:
            return None
        number = info.id.removeprefix("customfield_")
        clauses.append(f'cf[{number}] ~ "{_jql_string(chr(34) + value + chr(34))}"')
        jql = " AND ".join(clauses) + " ORDER BY created DESC"
        for raw in self._search(jql, [info.id, "created"]):  # ~ is a text search: keep exact matches only
            field_value = (raw.get("fields") or {}).get(info.id)
            if (self._plain(field_value) if info.is_rich_text else field_value) == value:
                return self.find_issue(raw["key"])
        return None

    # -- creating -----------------------------------------------------------------------------------------
    def _new_issue_request(self, new: NewIssue, idempotency_key: str | None) -> tuple[dict[str, Any], list[str]]:
        project, type_ids = self._project(new.project_key)
        summary = " ".join(new.summary.split())[:SUMMARY_LIMIT]
        if not summary:
            raise errors.InvalidFieldValue("summary: an issue needs a summary")
        fields: dict[str, Any] = {"project": {"key": project.key}, "summary": summary}
        issue_type = new.issue_type or project.default_issue_type
        if issue_type.casefold() not in type_ids:
            raise errors.InvalidFieldValue(f"issue type {issue_type!r} is not one of {', '.join(project.issue_types)}")
        fields["issuetype"] = {"id": type_ids[issue_type.casefold()]}
        if new.priority:
            priority = next((p for p in self._priority_list() if p["name"].casefold() == new.priority.casefold()), None)
            if priority is None:
                raise errors.InvalidFieldValue(
                    f"priority {new.priority!r} is not one of {', '.join(project.priorities)}"
                )
            fields["priority"] = {"id": priority["id"]}
        for role, account in (("reporter", new.reporter), ("assignee", new.assignee)):
            if account:
                self._account(account, role)
                fields[role] = self._user_ref(account)
        labels = list(dict.fromkeys(new.labels))
        for label in labels:
            if not label or any(c.isspace() for c in label):
                raise errors.InvalidFieldValue(f"label {label!r}: Jira labels cannot be empty or contain spaces")
        if labels:
            fields["labels"] = labels
        watchers = list(dict.fromkeys(new.watchers))
        for watcher in watchers:
            self._account(watcher, "watcher")
        properties: dict[str, Any] = {}
        if idempotency_key:
            properties["idempotencyKey"] = idempotency_key
        if new.source_message_id is not None:
            properties["sourceMessageId"] = new.source_message_id
        description = new.description
        if len(description) > TEXT_LIMIT:  # Jira refuses more: the whole text is attached after the create
            description = description[: TEXT_LIMIT - 200].rstrip() + "\n\n(continued in the attached full text)"
        if description:
            rendered = self._render(description)
            fields["description"] = rendered
            properties["description"] = self._source(description, rendered)
        if new.email_sender_address:
            fields[self._field(EMAIL_SENDER_ADDRESS).id] = _check_address(
                new.email_sender_address, EMAIL_SENDER_ADDRESS
            )
        if new.email_sender_name:
            fields[self._field(EMAIL_SENDER_NAME).id] = new.email_sender_name
        participants = _dedupe_addresses(new.email_participants, EMAIL_PARTICIPANTS)
        if participants:
            fields[self._field(EMAIL_PARTICIPANTS).id] = self._render_lines(participants)
        for name, value in new.custom_fields.items():
            info = self._field(name)
            if value is not None:
                fields[info.id] = self._custom_value(info, value)
        body: dict[str, Any] = {"fields": fields}
        if properties:
            body["properties"] = [{"key": PROPERTY, "value": properties}]
        return body, watchers

    def create_issue(
        self, new: NewIssue, *, idempotency_key: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        self._check_actor(actor)
        body, watchers = self._new_issue_request(new, idempotency_key)  # everything checked before anything is sent
        claim = f"issue:{idempotency_key}" if idempotency_key else None
        if claim is not None:
            done = self._claim(claim, lambda: self._issue_by_property(idempotency_key or ""))
            if done:
                return self.get_issue(done)
        try:
            key = self._post_issue(body, idempotency_key)
        except JiraTemporaryError as exc:
            if claim is not None:
                if exc.status == 429:  # refused before any work: nothing can have been created
                    self._release(claim)
                else:  # a lost answer: the create may still commit; whoever retries looks it up first
                    self._expire_soon(claim)
            raise
        except Exception:
            if claim is not None:
                self._release(claim)
            raise
        if claim is not None:
            self._finish(claim, key)
        if new.message_ids:
            self._record(key, new.message_ids, MessageIdKind.INBOUND)
        for watcher in watchers:
            with self._changing(key):
                self.client.request("POST", f"issue/{key}/watchers", json=watcher, not_found=errors.IssueNotFound)
        if len(new.description) > TEXT_LIMIT:
            full = AttachmentUpload("description-full-text.txt", "text/plain", data=new.description.encode())
            self.add_attachments(key, [full])
        return self._current(key)  # kept: the request's replies find it in the cache

    def _post_issue(self, body: dict[str, Any], idempotency_key: str | None) -> str:
        try:
            created = self.client.request("POST", "issue", json=body, what="create issue").json()
        except JiraTemporaryError:
            # the issue may have been created before the answer was lost: look for it before anyone retries
            if idempotency_key:
                found = self._issue_by_property(idempotency_key)
                if found:
                    return found
            raise
        return str(created["key"])

    def _issue_by_property(self, idempotency_key: str) -> str | None:
        jql = f'issue.property[{PROPERTY}].idempotencyKey = "{_jql_string(idempotency_key)}"'
        issues = self._search(jql, ["created"], limit=2)
        return str(issues[0]["key"]) if issues else None

    # -- idempotency claims (our database) ----------------------------------------------------------------------
    def _claim(self, key: str, look_up: Any) -> str | None:
        """Claim ``key`` for this call: None when claimed (go ahead), the earlier result when there is one.
        Another worker's fresh claim is TemporaryTrackerError; a stale one is looked up in Jira, then taken over."""
        now = timezone.now()
        try:
            with transaction.atomic():
                RemoteIdempotencyKey.objects.create(instance=self.instance, key=key, claimed_at=now)
            return None
        except IntegrityError:
            pass
        except OperationalError as exc:  # a locked or busy database
            raise JiraTemporaryError(f"{key}: the database is busy; try again", retry_after=0.1) from exc
        row = RemoteIdempotencyKey.objects.filter(instance=self.instance, key=key).first()
        if row is None:
            raise JiraTemporaryError(f"{key}: claimed and released meanwhile; try again", retry_after=0.1)
        if row.result:
            return row.result
        if now - row.claimed_at < CLAIM_TIMEOUT:
            raise JiraTemporaryError(f"{key}: another worker is making this right now; try again", retry_after=1.0)
        found = look_up()
        if found:
            RemoteIdempotencyKey.objects.filter(pk=row.pk).update(result=found)
            return str(found)
        taken = RemoteIdempotencyKey.objects.filter(pk=row.pk, claimed_at=row.claimed_at, result="").update(
            claimed_at=now
        )
        if not taken:
            raise JiraTemporaryError(f"{key}: another worker took this over; try again", retry_after=1.0)
        return None

    def _expire_soon(self, key: str) -> None:
        """Let the claim go stale in a few seconds: the next try looks the result up in Jira before creating."""
        stale_at = timezone.now() - CLAIM_TIMEOUT + RECHECK_AFTER
        RemoteIdempotencyKey.objects.filter(instance=self.instance, key=key, result="").update(claimed_at=stale_at)

    def _finish(self, key: str, result: str) -> None:
        RemoteIdempotencyKey.objects.filter(instance=self.instance, key=key).update(result=result)

    def _release(self, key: str) -> None:
        RemoteIdempotencyKey.objects.filter(instance=self.instance, key=key, result="").delete()

    # -- comments -----------------------------------------------------------------------------------------
    def _to_comment(self, issue_key: str, raw: dict[str, Any], meta: Mapping[str, Any] | None) -> TrackerComment:
        meta = meta or {}
        author: TrackerUser | None
        if meta.get("author"):
            author = self.users.by_id(str(meta["author"]))
        elif meta.get("authorEmail"):
            author = None
        else:
            author = self.users.remember(raw["author"]) if raw.get("author") else None
        return TrackerComment(
            id=str(raw["id"]),
            issue_key=_key(issue_key),
            body=self._text_back(raw.get("body"), meta.get("body")),
            author=author,
            author_email=str(meta.get("authorEmail") or ""),
            author_name=str(meta.get("authorName") or ""),
            created_at=_jira_time(raw.get("created")) or timezone.now(),
            source_message_id=meta.get("sourceMessageId"),
        )

    def add_comment(self, issue_key: str, comment: NewComment, *, idempotency_key: str | None = None) -> TrackerComment:
        if not comment.body.strip():
            raise errors.InvalidFieldValue("comment: the body is empty")
        if comment.author:
            self._account(comment.author, "comment author")
        author_email = _check_address(comment.author_email, "comment author") if comment.author_email else ""
        claim = f"comment:{idempotency_key}" if idempotency_key else None
        if claim is not None:
            done = self._claim(claim, lambda: self._comment_by_key(issue_key, idempotency_key or ""))
            if done:
                existing = next((c for c in self.list_comments(issue_key) if c.id == done), None)
                if existing is not None:
                    return existing
        body_text = comment.body
        overflow = ""
        if len(body_text) > TEXT_LIMIT:  # Jira refuses longer bodies: the whole text goes into an attachment
            overflow, body_text = (
                body_text,
                body_text[: TEXT_LIMIT - 200].rstrip() + "\n\n(continued in the attached full text)",
            )
        rendered = self._render(body_text)
        meta: dict[str, Any] = {"body": self._source(body_text, rendered)}
        if comment.author:
            meta["author"] = comment.author
        if author_email:
            meta["authorEmail"] = author_email
        if comment.author_name:
            meta["authorName"] = comment.author_name
        if comment.source_message_id is not None:
            meta["sourceMessageId"] = comment.source_message_id
        if idempotency_key:
            meta["idempotencyKey"] = idempotency_key
        request = {"body": rendered, "properties": [{"key": PROPERTY, "value": meta}]}
        try:
            try:
                raw = self.client.request(
                    "POST",
                    f"issue/{_key(issue_key)}/comment",
                    json=request,
                    not_found=errors.IssueNotFound,
                    what=f"comment on {issue_key}",
                ).json()
            except JiraTemporaryError:
                self.states.forget(_key(issue_key))  # the comment may have landed: the count is not known
                found = self._comment_by_key(issue_key, idempotency_key) if idempotency_key else None
                if not found:
                    raise
                raw = {"id": found}
        except errors.IssueNotFound:
            self.states.forget(_key(issue_key), tombstone=False)  # deleted in Jira since it was kept
            if claim is not None:
                self._release(claim)
            raise
        except Exception:
            if claim is not None:
                self._release(claim)
            raise
        if claim is not None:
            self._finish(claim, str(raw["id"]))
        if "created" in raw:  # made by this request: the kept comment count goes up by one
            self.states.commented(_key(issue_key), _jira_time(raw["created"]) or timezone.now(), str(raw["id"]))
        self._comments.add((_key(issue_key), str(raw["id"])))
        if comment.message_ids:
            self._record(issue_key, comment.message_ids, MessageIdKind.INBOUND)
        if overflow:
            self.add_attachments(
                issue_key,
                [AttachmentUpload("full-text.txt", "text/plain", data=overflow.encode())],
                comment_id=str(raw["id"]),
            )
        if "created" not in raw:
            return next(c for c in self.list_comments(issue_key) if c.id == str(raw["id"]))
        return self._to_comment(issue_key, raw, meta)

    def _raw_comments(self, issue_key: str) -> list[dict[str, Any]]:
        comments: list[dict[str, Any]] = []
        start = 0
        while True:
            with self._gone_if_missing(issue_key):
                page = self.client.get(
                    f"issue/{_key(issue_key)}/comment",
                    params={"startAt": start, "maxResults": 100, "orderBy": "created", "expand": "properties"},
                    not_found=errors.IssueNotFound,
                )
            comments.extend(page.get("comments") or [])
            start += len(page.get("comments") or [])
            if not page.get("comments") or start >= int(page.get("total") or 0):
                return comments

    @staticmethod
    def _meta(raw: dict[str, Any]) -> dict[str, Any]:
        return next((p.get("value") or {} for p in raw.get("properties") or [] if p.get("key") == PROPERTY), {})

    def _comment_by_key(self, issue_key: str, idempotency_key: str) -> str | None:
        for raw in self._raw_comments(issue_key):
            if self._meta(raw).get("idempotencyKey") == idempotency_key:
                return str(raw["id"])
        return None

    def list_comments(self, issue_key: str) -> list[TrackerComment]:
        return [self._to_comment(issue_key, raw, self._meta(raw)) for raw in self._raw_comments(issue_key)]

    def count_mail_comments(
        self, issue_key: str, *, since: datetime, excluding_message: int | None = None
    ) -> tuple[int, int]:
        return mail_comment_counts(self.list_comments(issue_key), since, excluding_message)

    # -- attachments ----------------------------------------------------------------------------------------
    def _raw_attachments(self, issue_key: str) -> list[dict[str, Any]]:
        known = self._attachments.get(_key(issue_key))
        if known is None and not self._fresh_reads:
            cached = self.states.look([_key(issue_key)])[_key(issue_key)].cached
            known = cached.attachments if cached is not None else None
        if known is None:
            with self._gone_if_missing(issue_key):
                raw = self.client.get(
                    f"issue/{_key(issue_key)}", params={"fields": "attachment"}, not_found=errors.IssueNotFound
                )
            known = raw.get("fields", {}).get("attachment") or []
        return sorted(
            known,
            key=lambda a: (a.get("created", ""), int(a["id"]) if str(a["id"]).isdigit() else 0),
        )

    def _to_attachment(self, issue_key: str, raw: dict[str, Any], record: RemoteAttachment | None) -> TrackerAttachment:
        return TrackerAttachment(
            id=str(raw["id"]),
            issue_key=_key(issue_key),
            filename=raw.get("filename", ""),
            content_type=raw.get("mimeType", "application/octet-stream"),
            size=int(raw.get("size") or 0),
            sha256=record.sha256 if record else "",
            comment_id=(record.comment_id or None) if record else None,
            created_at=_jira_time(raw.get("created")) or timezone.now(),
        )

    def _records(self, ids: Iterable[str]) -> dict[str, RemoteAttachment]:
        rows = RemoteAttachment.objects.filter(instance=self.instance, attachment_id__in=list(ids))
        return {row.attachment_id: row for row in rows}

    def add_attachments(
        self,
        issue_key: str,
        uploads: Iterable[AttachmentUpload],
        *,
        comment_id: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> list[TrackerAttachment]:
        self._check_actor(actor)
        items = list(uploads)
        hashes = []
        for upload in items:
            digest = upload.content_sha256()
            if upload.sha256 is not None and upload.sha256 != digest:
                raise errors.InvalidFieldValue(
                    f"attachment {upload.filename!r}: its content does not match its SHA-256"
                )
            hashes.append(digest)
        if (
            comment_id is not None
            and (_key(issue_key), comment_id) not in self._comments
            and not any(c.get("id") == comment_id for c in self._raw_comments(issue_key))
        ):
            raise errors.NotFound(f"no comment {comment_id!r} on {issue_key}")
        existing: dict[str, str] = {}
        if idempotency_key:
            rows = RemoteAttachment.objects.filter(
                instance=self.instance, issue_key=_key(issue_key), idempotency_key=idempotency_key
            )
            existing = {row.sha256: row.attachment_id for row in rows}
        fresh = [(u, h) for u, h in zip(items, hashes, strict=True) if h not in existing]
        uploaded: dict[int, dict[str, Any]] = {}
        if fresh:
            self._attachments.pop(_key(issue_key), None)
            files = []
            for upload, _ in fresh:
                content = upload.data if upload.data is not None else upload.file.read()  # type: ignore[union-attr]
                if upload.file is not None:
                    upload.file.seek(0)
                files.append(("file", (upload.filename, content, upload.content_type)))
            try:
                answer = self.client.request(
                    "POST",
                    f"issue/{_key(issue_key)}/attachments",
                    files=files,
                    headers={"X-Atlassian-Token": "no-check"},
                    not_found=errors.IssueNotFound,
                    what=f"attachments to {issue_key}",
                ).json()
            except Exception:
                self.states.forget(_key(issue_key))  # a lost answer may have attached them
                raise
            kept = self.states.attached(_key(issue_key), list(answer))  # Jira's answer added to the kept list
            if kept is not None:
                self._attachments[_key(issue_key)] = kept
            RemoteAttachment.objects.bulk_create(
                [
                    RemoteAttachment(
                        instance=self.instance,
                        issue_key=_key(issue_key),
                        attachment_id=str(raw["id"]),
                        sha256=digest,
                        comment_id=comment_id or "",
                        idempotency_key=idempotency_key,
                    )
                    for raw, (_, digest) in zip(answer, fresh, strict=True)
                ]
            )
            for index, raw in enumerate(answer):
                uploaded[index] = raw
        raws = {str(a["id"]): a for a in self._raw_attachments(issue_key)} if existing else {}
        records = self._records([str(r["id"]) for r in uploaded.values()] + list(existing.values()))
        result: list[TrackerAttachment] = []
        position = 0
        for digest in hashes:
            if digest in existing:
                attachment_id = existing[digest]
                result.append(self._to_attachment(issue_key, raws[attachment_id], records.get(attachment_id)))
            else:
                raw = uploaded[position]
                position += 1
                result.append(self._to_attachment(issue_key, raw, records.get(str(raw["id"]))))
        return result

    def list_attachments(self, issue_key: str) -> list[TrackerAttachment]:
        raws = self._raw_attachments(issue_key)
        records = self._records(str(a["id"]) for a in raws)
        return [self._to_attachment(issue_key, raw, records.get(str(raw["id"]))) for raw in raws]

    def attachment_hashes(self, issue_key: str) -> frozenset[str]:
        return frozenset(a.sha256 for a in self.list_attachments(issue_key) if a.sha256)

    def read_attachment(self, issue_key: str, attachment_id: str) -> bytes:
        raw = next((a for a in self._raw_attachments(issue_key) if str(a["id"]) == attachment_id), None)
        if raw is None:
            raise errors.NotFound(f"no attachment {attachment_id!r} on {issue_key}")
        if self.cloud:
            response = self.client.request("GET", f"attachment/content/{attachment_id}", params={"redirect": "false"})
        else:
            response = self.client.request("GET", str(raw["content"]).removeprefix(self.client.base_url), absolute=True)
        return response.content

    # -- Message-IDs (our database) -------------------------------------------------------------------------
    def _record(self, issue_key: str, message_ids: Sequence[str], kind: str) -> None:
        rows = {}
        for message_id in message_ids:
            normalized = normalize_message_id(message_id)
            rows[_message_id_hash(normalized)] = RemoteMessageId(
                instance=self.instance,
                issue_key=_key(issue_key),
                message_id_hash=_message_id_hash(normalized),
                message_id=normalized,
                kind=kind,
            )
        RemoteMessageId.objects.bulk_create(list(rows.values()), ignore_conflicts=True)

    def record_message_id(self, issue_key: str, message_id: str, *, kind: str = "outbound") -> None:
        self.record_message_ids(issue_key, [message_id], kind=kind)

    def record_message_ids(self, issue_key: str, message_ids: Sequence[str], *, kind: str = "outbound") -> None:
        if kind not in MessageIdKind.values:
            raise errors.InvalidFieldValue(f"Message-ID kind {kind!r} is not one of {', '.join(MessageIdKind.values)}")
        for message_id in message_ids:
            if not message_id or not normalize_message_id(message_id)[1:-1].strip():
                raise errors.InvalidFieldValue("an empty Message-ID cannot be recorded")
        self._require_issue(issue_key)
        if message_ids:
            self._record(issue_key, message_ids, kind)

    # -- changing ---------------------------------------------------------------------------------------------
    def update_issue(self, issue_key: str, update: IssueUpdate, *, actor: Actor | None = None) -> TrackerIssue:
        self._check_actor(actor)
        current = self._current(issue_key)
        project, type_ids = self._project(current.project_key)
        fields: dict[str, Any] = {}
        properties: list[dict[str, Any]] = []
        if update.summary is not None:
            summary = " ".join(update.summary.split())[:SUMMARY_LIMIT]
            if not summary:
                raise errors.InvalidFieldValue("summary: an issue needs a summary")
            fields["summary"] = summary
        if update.description is not None:
            rendered = self._render(update.description) if update.description else None
            fields["description"] = rendered
            raw = self._fetch(issue_key) or {}
            kept = dict((raw.get("properties") or {}).get(PROPERTY) or {})
            kept["description"] = self._source(update.description, rendered)
            properties.append({"key": PROPERTY, "value": kept})
        if update.issue_type is not None:
            if update.issue_type.casefold() not in type_ids:
                raise errors.InvalidFieldValue(
                    f"issue type {update.issue_type!r} is not one of {', '.join(project.issue_types)}"
                )
            fields["issuetype"] = {"id": type_ids[update.issue_type.casefold()]}
        if update.priority is not None:
            priority = next(
                (p for p in self._priority_list() if p["name"].casefold() == update.priority.casefold()), None
            )
            if priority is None:
                raise errors.InvalidFieldValue(
                    f"priority {update.priority!r} is not one of {', '.join(project.priorities)}"
                )
            fields["priority"] = {"id": priority["id"]}
        if not isinstance(update.assignee, _Unset):
            if update.assignee is None:
                fields["assignee"] = None
            else:
                self._account(update.assignee, "assignee")
                fields["assignee"] = self._user_ref(update.assignee)
        if update.labels is not None or update.add_labels or update.remove_labels:
            labels = list(update.labels if update.labels is not None else current.labels)
            labels = [
                label for label in dict.fromkeys([*labels, *update.add_labels]) if label not in update.remove_labels
            ]
            for label in labels:
                if not label or any(c.isspace() for c in label):
                    raise errors.InvalidFieldValue(f"label {label!r}: Jira labels cannot be empty or contain spaces")
            fields["labels"] = labels
        for watcher in update.add_watchers:
            self._account(watcher, "watcher")
        if update.email_sender_address is not None:
            address = (
                _check_address(update.email_sender_address, EMAIL_SENDER_ADDRESS)
                if update.email_sender_address
                else None
            )
            fields[self._field(EMAIL_SENDER_ADDRESS).id] = address
        if update.email_sender_name is not None:
            fields[self._field(EMAIL_SENDER_NAME).id] = update.email_sender_name or None
        key = current.key
        if fields or properties:
            body: dict[str, Any] = {"fields": fields}
            if properties:
                body["properties"] = properties
            with self._changing(key):
                self.client.request(
                    "PUT", f"issue/{key}", json=body, not_found=errors.IssueNotFound, what=f"update {key}"
                )
        watching = {w.account_id for w in current.watchers}
        for watcher in dict.fromkeys(update.add_watchers):
            if watcher not in watching:
                with self._changing(key):
                    self.client.request("POST", f"issue/{key}/watchers", json=watcher, not_found=errors.IssueNotFound)
        for watcher in dict.fromkeys(update.remove_watchers):
            if watcher in watching:
                param = "accountId" if self.cloud else "username"
                with self._changing(key):
                    self.client.request(
                        "DELETE", f"issue/{key}/watchers", params={param: watcher}, not_found=errors.IssueNotFound
                    )
        return self._current(key)

    def _transitions(self, issue: TrackerIssue) -> list[dict[str, Any]]:
        with self._gone_if_missing(issue.key):
            raw = self.client.get(f"issue/{issue.key}/transitions", not_found=errors.IssueNotFound)
        return [t for t in raw.get("transitions") or [] if (t.get("to") or {}).get("name") != issue.status]

    def list_transitions(self, issue_key: str) -> list[Transition]:
        issue = self.get_issue(issue_key)
        return [Transition(str(t["id"]), t["name"], t["to"]["name"]) for t in self._transitions(issue)]

    def transition_issue(
        self, issue_key: str, to_status: str, *, resolution: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        self._check_actor(actor)
        issue = self._current(issue_key)
        wanted = to_status.strip().casefold()
        moves = self._transitions(issue)
        move = next((t for t in moves if t["to"]["name"].casefold() == wanted), None) or next(
            (t for t in moves if t["name"].casefold() == wanted), None
        )
        if move is None:
            raise errors.InvalidTransition(
                f"{issue.key} is {issue.status!r}; its workflow has no move to {to_status!r} "
                f"(possible: {', '.join(t['to']['name'] for t in moves) or 'none'})"
            )
        body: dict[str, Any] = {"transition": {"id": str(move["id"])}}
        done = ((move["to"].get("statusCategory") or {}).get("key")) == "done"
        if resolution is not None:
            known = next((r for r in self._resolution_list() if r["name"].casefold() == resolution.casefold()), None)
            if known is None:
                raise errors.InvalidFieldValue(
                    f"resolution {resolution!r} is not one of {', '.join(r['name'] for r in self._resolution_list())}"
                )
            if done:
                body["fields"] = {"resolution": {"id": known["id"]}}
        with self._changing(issue.key):
            self.client.request("POST", f"issue/{issue.key}/transitions", json=body, not_found=errors.IssueNotFound)
        return self._current(issue.key)

    def get_participants(self, issue_key: str) -> tuple[str, ...]:
        return self.get_issue(issue_key).email_participants

    def _set_participant_field(self, key: str, addresses: list[str]) -> None:
        field = self._field(EMAIL_PARTICIPANTS)
        value = self._render_lines(addresses) if addresses else None
        with self._changing(key):
            self.client.request(
                "PUT", f"issue/{key}", json={"fields": {field.id: value}}, not_found=errors.IssueNotFound
            )

    def add_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        self._check_actor(actor)
        added = _dedupe_addresses(addresses, EMAIL_PARTICIPANTS)
        issue = self._current(issue_key)  # merged with Jira's list as it is now, not as it was kept
        merged = _dedupe_addresses([*issue.email_participants, *added], EMAIL_PARTICIPANTS)
        if merged != list(issue.email_participants):
            self._set_participant_field(issue.key, merged)
        return tuple(merged)

    def set_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        self._check_actor(actor)
        wanted = _dedupe_addresses(addresses, EMAIL_PARTICIPANTS)
        issue = self._current(issue_key)
        if wanted != list(issue.email_participants):
            self._set_participant_field(issue.key, wanted)
        return tuple(wanted)

    def get_custom_fields(self, issue_key: str) -> dict[str, Any]:
        return dict(self.get_issue(issue_key).custom_fields)

    def update_custom_fields(
        self, issue_key: str, values: Mapping[str, Any], *, actor: Actor | None = None
    ) -> TrackerIssue:
        self._check_actor(actor)
        fields = {}
        for name, value in values.items():
            info = self._field(name)
            fields[info.id] = self._custom_value(info, value)
        key = _key(issue_key)
        if fields:
            with self._changing(key):
                self.client.request(
                    "PUT", f"issue/{key}", json={"fields": fields}, not_found=errors.IssueNotFound, what=f"update {key}"
                )
            return self._current(key)
        return self.get_issue(key)

    # -- a data subject ---------------------------------------------------------------------------------------------
    def find_subject(self, address: str, *, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
        with self.fresh_reads():  # what Jira holds now, not what was kept
            return subject.find(self, address, issue_keys)

    def erase_subject(
        self, address: str, *, issue_keys: Sequence[str] = (), redact_texts: bool = False
    ) -> SubjectErasure:
        """Erased from Jira, then every kept issue state of the instance deleted (no cached copy of the address)."""
        try:
            with self.fresh_reads():
                return subject.erase(self, address, issue_keys, redact_texts=redact_texts)
        finally:
            self.states.forget_all()


def _comment_total(value: Any) -> int | None:
    """The issue's comment count from its ``comment`` field (a page of comments with ``total``), if it says."""
    total = value.get("total") if isinstance(value, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


PARALLEL = 8  # Jira calls one look-up keeps in flight at most


def _side_by_side(call: Callable[[str], T], values: list[str]) -> list[T]:
    """``call`` for each value, several at once on the shared (thread-safe, pooled) client; results in order."""
    if len(values) <= 1:
        return [call(value) for value in values]
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(values)), thread_name_prefix="jira") as pool:
        return list(pool.map(call, values))


_jql_string = jql_string
