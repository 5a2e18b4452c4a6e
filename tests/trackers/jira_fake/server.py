"""FakeJira: a real HTTP server on loopback speaking Jira's REST API, Cloud (v3, ADF) or Data Center (v2, wiki).

Every request it receives and every response it sends is checked against Atlassian's OpenAPI description
(:mod:`.spec`); a violation is recorded in :attr:`FakeJira.violations` (the test fixture fails the test with it)
and the request is answered 400. It enforces authentication (Cloud: basic e-mail + API token; Data Center: bearer
personal access token) and ``X-Atlassian-Token: no-check`` on uploads, counts calls per operation, and injects
latency, 429s with ``Retry-After``, 5xx, slow answers (client timeouts) and dropped connections, also after the
work was committed (:meth:`FakeJira.inject`); a site-wide rate limit (:meth:`FakeJira.limit_rate`), a 429 storm
refusing a share of all calls for a while (:meth:`FakeJira.storm`) and an outage (:meth:`FakeJira.outage`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.trackers.jira_fake import spec
from tests.trackers.jira_fake.state import (
    DEFAULT_PRIORITY,
    DEFAULT_RESOLUTION,
    ISSUE_TYPES,
    PERMISSIONS,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TRANSITION_IDS,
    WORKFLOW,
    Attachment,
    Comment,
    Issue,
    State,
    User,
    jira_time,
    now,
)
from tests.trackers.jira_fake.validator import Background, Record

TEXT_LIMIT = 32767
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}


class JiraError(Exception):
    """An error answer: status and ErrorCollection."""

    def __init__(self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.messages: list[str] = messages or []
        self.errors: dict[str, str] = errors or {}
        self.body: dict[str, Any] = {"errorMessages": self.messages, "errors": self.errors}


@dataclass
class Fault:
    """Something to do instead of (or besides) answering normally, for calls of one operation ("*": any)."""

    operation: str = "*"
    status: int | None = None  # answer this status before doing the work (429, 503, ...)
    retry_after: int | None = None
    headers: dict[str, str] | None = None
    delay: float = 0.0  # sleep first (longer than the client's timeout: a timeout)
    drop: str | None = None  # "before": close the connection without working; "after": work, then close
    times: int = 1


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Callable[..., Any]


class FakeJira:
    """One fake Jira site. ``flavour`` is "cloud" or "datacenter". Start with :meth:`start`, stop with :meth:`stop`."""

    EMAIL = "integration@example.com"
    API_TOKEN = "cloud-api-token"
    PAT = "dc-personal-access-token"

    def __init__(self, flavour: str) -> None:
        assert flavour in ("cloud", "datacenter")
        self.flavour = flavour
        self.version = "3" if flavour == "cloud" else "2"
        self.prefix = f"/rest/api/{self.version}"
        self.state = State(flavour)
        self.service = self.state.add_user("jemh", self.EMAIL, "JEMH Integration")
        self.calls: Counter[str] = Counter()
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.latency = 0.0
        #: check one call in every N against the OpenAPI description (request and response); 1 (the default, and
        #: what every test uses): each. A benchmark may sample, so that validating (milliseconds of CPU per call, on
        #: the machine that also runs the system measured) does not stand in for Jira's own servers' time.
        self.validate_every = 1
        self._validate_count = 0
        #: the checks' process when they run in the background (:meth:`validate_in_background`), else None
        self._background: Background | None = None
        #: Cloud: whether a search by an address its owner hides still finds the user (shown without the address);
        #: False: it finds nobody. Real Cloud sites have been seen doing both.
        self.hidden_addresses_match = False
        #: the site's rate limit in requests per second (None: none): beyond it, 429 with Retry-After
        self.rate_limit: float | None = None
        self._tokens = 0.0
        self._filled_at = 0.0
        #: (until time.monotonic(), refuse one call in every N) of a 429 storm; (until, how) of an outage
        self._storm: tuple[float, int] | None = None
        self._storm_calls = 0
        self._outage: tuple[float, str] | None = None
        #: calls refused by the rate limit, the storm and the outage
        self.refused: Counter[str] = Counter()
        self.refused_calls: Counter[str] = Counter()  # by operation
        #: requests being answered now, and the most at once
        self.in_flight = 0
        self.peak_in_flight = 0
        #: answers by the whole second of time.time() they were sent in and "answered" or "refused" (429/5xx)
        self.timeline: Counter[tuple[int, str]] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.routes = self._routes()

    def _validates(self) -> bool:
        """Whether this call is one that :attr:`validate_every` checks."""
        with self._lock:
            self._validate_count += 1
            return self._validate_count % max(1, self.validate_every) == 0

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeJira:
        spec.openapi(self.flavour)  # load the spec before the first request's clock starts
        fake = self

        class Handler(_Handler):
            jira = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name=f"fake-jira-{self.flavour}").start()
        return self

    def validate_in_background(self) -> None:
        """Check every call in a process of its own at the lowest CPU priority instead of while answering it (a
        benchmark's choice: the checks then take only CPU the system measured leaves idle). A request that breaks
        the spec gets its normal answer, not a 400; :meth:`finish_validation` adds the findings to
        :attr:`violations`."""
        self._background = Background()

    def finish_validation(self, timeout: float = 600.0) -> int:
        """Wait for the background checks (:meth:`validate_in_background`) to catch up; how many calls they
        checked. Their findings join :attr:`violations`."""
        background, self._background = self._background, None
        if background is None:
            return 0
        checked, findings = background.drain(timeout)
        self.violations.extend(findings)
        return checked

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls ---------------------------------------------------------------------------------------
    def inject(self, operation: str = "*", **kwargs: Any) -> Fault:
        fault = Fault(operation, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def limit_rate(self, per_second: float | None) -> None:
        """Refuse calls beyond ``per_second`` (a token bucket holding one second's worth) with 429."""
        with self._lock:
            self.rate_limit = per_second
            self._tokens = per_second or 0.0
            self._filled_at = time.monotonic()

    def storm(self, seconds: float, every: int = 2) -> None:
        """For ``seconds`` from now refuse one call in every ``every`` (2: half of all calls) with 429."""
        with self._lock:
            self._storm = (time.monotonic() + seconds, every)

    def outage(self, seconds: float, how: str = "503") -> None:
        """For ``seconds`` from now answer every call with ``how``: "503" (no Retry-After) or "drop" (the
        connection is closed without an answer)."""
        assert how in ("503", "drop")
        with self._lock:
            self._outage = (time.monotonic() + seconds, how)

    def rate_limit_headers(self) -> dict[str, str]:
        """The headers of a 429 besides ``Retry-After``, as each flavour sends them: Cloud names the limit's scope
        (``RateLimit-Reason: jira-burst-based``, counted per endpoint and method) and when its window resets; Data
        Center's token bucket says how it refills."""
        limit = str(int(self.rate_limit or 100))
        if self.flavour == "datacenter":
            return {
                "X-RateLimit-Limit": limit,
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Interval-Seconds": "1",
                "X-RateLimit-FillRate": limit,
            }
        reset = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + 60))
        return {
            "X-RateLimit-Limit": limit,
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
            "RateLimit-Reason": "jira-burst-based",
        }

    def _refusal(self) -> tuple[str, int] | None:
        """Whether the outage, the storm or the rate limit refuses this call: (kind, Retry-After seconds)."""
        with self._lock:
            moment = time.monotonic()
            if self._outage is not None and moment < self._outage[0]:
                self.refused["outage"] += 1
                return f"outage-{self._outage[1]}", 0
            if self._storm is not None and moment < self._storm[0]:
                self._storm_calls += 1
                if self._storm_calls % self._storm[1] == 0:
                    self.refused["storm"] += 1
                    return "storm", 1
            if self.rate_limit:
                self._tokens = min(self.rate_limit, self._tokens + (moment - self._filled_at) * self.rate_limit)
                self._filled_at = moment
                if self._tokens < 1:
                    self.refused["rate limit"] += 1
                    return "rate limit", max(1, int(-(-(1 - self._tokens) // self.rate_limit)))
                self._tokens -= 1
        return None

    def _take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.operation in ("*", operation) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def count(self, operation: str) -> int:
        return self.calls[operation]

    # -- representations -------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base_url}{self.prefix}/{path}"

    def user_json(self, user: User) -> dict[str, Any]:
        avatars = {
            size: f"{self.base_url}/avatar/{user.account_id}?s={size[:2]}"
            for size in ("16x16", "24x24", "32x32", "48x48")
        }
        if self.flavour == "cloud":
            body: dict[str, Any] = {
                "self": self.url(f"user?accountId={user.account_id}"),
                "accountId": user.account_id,
                "accountType": "atlassian",
                "avatarUrls": avatars,
                "displayName": user.display_name,
                "active": user.active,
                "timeZone": "Europe/Berlin",
            }
        else:
            body = {
                "self": self.url(f"user?username={user.name}"),
                "key": f"JIRAUSER{user.account_id.__hash__() % 100000}",
                "name": user.name,
                "avatarUrls": avatars,
                "displayName": user.display_name,
                "active": user.active,
                "timeZone": "Europe/Berlin",
            }
        if not user.hide_email:  # the privacy setting hides it: the key is left out (never null, endpoints.md §0)
            body["emailAddress"] = user.email
        return body

    def status_json(self, name: str) -> dict[str, Any]:
        category = STATUSES[name]
        return {
            "self": self.url(f"status/{self._status_id(name)}"),
            "id": self._status_id(name),
            "name": name,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/status.gif",
            "statusCategory": {
                "self": self.url(f"statuscategory/{CATEGORY_IDS[category]}"),
                "id": CATEGORY_IDS[category],
                "key": category,
                "name": {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[category],
                "colorName": "blue-gray",
            },
        }

    @staticmethod
    def _status_id(name: str) -> str:
        return str(list(STATUSES).index(name) + 1)

    def issue_type_json(self, name: str) -> dict[str, Any]:
        type_id = str(ISSUE_TYPES.index(name) + 10001)
        return {
            "self": self.url(f"issuetype/{type_id}"),
            "id": type_id,
            "name": name,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/{name.lower()}.png",
            "subtask": False,
            "hierarchyLevel": 0,
        }

    def priority_json(self, name: str) -> dict[str, Any]:
        priority_id = str(PRIORITIES.index(name) + 1)
        body: dict[str, Any] = {
            "self": self.url(f"priority/{priority_id}"),
            "id": priority_id,
            "name": name,
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
            "statusColor": "#ff0000",
            "description": name,
        }
        if self.flavour == "cloud":
            body["isDefault"] = name == DEFAULT_PRIORITY
        return body

    def resolution_json(self, name: str) -> dict[str, Any]:
        resolution_id = str(RESOLUTIONS.index(name) + 10000)
        return {"self": self.url(f"resolution/{resolution_id}"), "id": resolution_id, "name": name, "description": ""}

    def attachment_json(self, attachment: Attachment) -> dict[str, Any]:
        if self.flavour == "cloud":
            content = self.url(f"attachment/content/{attachment.id}")
        else:  # Data Center serves files outside the REST API
            content = f"{self.base_url}/secure/attachment/{attachment.id}/{attachment.filename}"
        return {
            "self": self.url(f"attachment/{attachment.id}"),
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self.user_json(self.state.users[attachment.author]),
            "created": jira_time(attachment.created),  # the string form (endpoints.md §0: the example is epoch ms)
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": content,
        }

    def comment_json(self, issue: Issue, comment: Comment, *, with_properties: bool) -> dict[str, Any]:
        author = self.user_json(self.state.users[comment.author])
        body = {
            "self": self.url(f"issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": author,
            "updateAuthor": author,
            "body": comment.body,
            "created": jira_time(comment.created),
            "updated": jira_time(comment.created),
            "jsdPublic": True,
        }
        if with_properties:
            body["properties"] = [{"key": k, "value": v} for k, v in comment.properties.items()]
        return body

    def project_ref(self, key: str) -> dict[str, Any]:
        project = self.state.projects[key]
        return {"self": self.url(f"project/{project.id}"), "id": project.id, "key": project.key, "name": project.name}

    def issue_json(self, issue: Issue, properties: list[str] | None = None) -> dict[str, Any]:
        users = self.state.users
        fields: dict[str, Any] = {
            "project": self.project_ref(issue.project),
            "status": self.status_json(issue.status),
            "resolution": self.resolution_json(issue.resolution) if issue.resolution else None,
            "resolutiondate": jira_time(issue.resolved) if issue.resolved else None,
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "watches": {
                "self": self.url(f"issue/{issue.key}/watchers"),
                "watchCount": len(issue.watchers),
                "isWatching": self.service.account_id in issue.watchers,
            },
            "attachment": [self.attachment_json(a) for a in issue.attachments],
            "comment": {"comments": [], "maxResults": 0, "total": len(issue.comments), "startAt": 0},
        }
        for field_id, value in issue.fields.items():
            if field_id in ("reporter", "assignee"):
                fields[field_id] = self.user_json(users[value]) if value else None
            elif field_id == "issuetype":
                fields[field_id] = self.issue_type_json(value)
            elif field_id == "priority":
                fields[field_id] = self.priority_json(value)
            else:
                fields[field_id] = value
        body: dict[str, Any] = {
            "expand": "",
            "id": issue.id,
            "key": issue.key,
            "self": self.url(f"issue/{issue.id}"),
            "fields": fields,
        }
        if properties:
            wanted = {k: v for k, v in issue.properties.items() if "*all" in properties or k in properties}
            body["properties"] = wanted
        return body

    # -- validation of field values ----------------------------------------------------------------------------
    def _text(self, value: Any, where: str) -> str:
        """A rich-text value: ADF on Cloud (checked against the ADF schema), wiki markup on Data Center; its text."""
        if self.flavour == "cloud":
            if not isinstance(value, dict):
                raise spec.SpecViolation(f"{where}: REST v3 wants an ADF document, got {type(value).__name__}")
            spec.check_adf(value, where)
            return _adf_text(value)
        if not isinstance(value, str):
            raise spec.SpecViolation(f"{where}: REST v2 wants wiki markup (a string), got {type(value).__name__}")
        return value

    def _user_ref(self, value: Any, field_id: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise JiraError(400, errors={field_id: "Specify a valid user."})
        if self.flavour == "cloud":
            if "name" in value:
                raise JiraError(400, errors={field_id: "'name' cannot be used on Cloud (GDPR): give accountId"})
            user = self.state.user(value.get("accountId"))
        else:
            user = self.state.user_by_name(value.get("name", ""))
        if user is None:
            raise JiraError(400, errors={field_id: f"User '{value}' does not exist."})
        if not user.active:
            raise JiraError(400, errors={field_id: f"User '{user.display_name}' is inactive."})
        return user.account_id

    def _named(self, value: Any, names: tuple[str, ...], field_id: str, ids: Callable[[str], str]) -> str:
        if not isinstance(value, dict):
            raise JiraError(400, errors={field_id: f"{field_id} must be an object with id or name"})
        for name in names:
            if value.get("name") == name or value.get("id") == ids(name):
                return name
        raise JiraError(400, errors={field_id: f"Specify a valid {field_id} id or name"})

    def _apply_fields(self, target: dict[str, Any], given: dict[str, Any], *, creating: bool) -> None:
        errors: dict[str, str] = {}
        for field_id, value in given.items():
            try:
                if field_id == "project" and creating:
                    continue
                if field_id == "summary":
                    if not isinstance(value, str) or not value.strip():
                        raise JiraError(400, errors={"summary": "You must specify a summary of the issue."})
                    if len(value) > 255 or "\n" in value or "\r" in value:
                        raise JiraError(
                            400, errors={"summary": "Summary must be less than 255 characters, on one line."}
                        )
                    target["summary"] = value
                elif field_id == "description":
                    if value is not None and len(self._text(value, "description")) > TEXT_LIMIT:
                        raise JiraError(400, ["CONTENT_LIMIT_EXCEEDED"])
                    target["description"] = value
                elif field_id in ("reporter", "assignee"):
                    target[field_id] = self._user_ref(value, field_id)
                elif field_id == "issuetype":
                    target[field_id] = self._named(
                        value, ISSUE_TYPES, "issuetype", lambda n: str(ISSUE_TYPES.index(n) + 10001)
                    )
                elif field_id == "priority":
                    target[field_id] = self._named(
                        value, PRIORITIES, "priority", lambda n: str(PRIORITIES.index(n) + 1)
                    )
                elif field_id == "labels":
                    if not isinstance(value, list) or any(not isinstance(v, str) or " " in v or not v for v in value):
                        raise JiraError(400, errors={"labels": "Labels cannot contain spaces."})
                    target["labels"] = list(dict.fromkeys(value))
                elif field_id.startswith("customfield_") and self.state.field(field_id) is not None:
                    field = self.state.field(field_id)
                    assert field is not None
                    if value is None:
                        target.pop(field_id, None)
                    elif field.schema["custom"].endswith(":textarea"):
                        self._text(value, field.name)
                        target[field_id] = value
                    elif not isinstance(value, str) or len(value) > 255:
                        raise JiraError(
                            400, errors={field_id: f"{field.name}: a single line of at most 255 characters"}
                        )
                    else:
                        target[field_id] = value
                else:
                    raise JiraError(
                        400,
                        errors={
                            field_id: f"Field '{field_id}' cannot be set. "
                            "It is not on the appropriate screen, or unknown."
                        },
                    )
            except JiraError as exc:
                errors.update(exc.errors)
                if exc.messages:
                    raise
        if errors:
            raise JiraError(400, errors=errors)

    # -- operations --------------------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        key = r"(?P<key>[^/]+)"
        table: list[tuple[str, str, str, Callable[..., Any]]] = [
            ("GET", r"serverInfo", "getServerInfo", self.server_info),
            ("GET", r"myself", "getCurrentUser", self.myself),
            ("GET", r"field", "getFields", self.get_fields),
            ("POST", r"field", "createCustomField", self.create_field),
            ("GET", r"mypermissions", "getMyPermissions", self.my_permissions),
            ("GET", r"project/search", "searchProjects", self.search_projects),
            ("GET", r"project", "getAllProjects", self.get_all_projects),
            ("GET", rf"project/{key}", "getProject", self.get_project),
            ("GET", rf"project/{key}/statuses", "getAllStatuses", self.get_statuses),
            ("GET", r"priority", "getPriorities", self.get_priorities),
            ("GET", r"resolution", "getResolutions", self.get_resolutions),
            ("GET", r"user/search", "findUsers", self.find_users),
            ("GET", r"user", "getUser", self.get_user),
            ("POST", r"issue", "createIssue", self.create_issue),
            ("GET", rf"issue/{key}", "getIssue", self.get_issue),
            ("PUT", rf"issue/{key}", "editIssue", self.edit_issue),
            ("POST", rf"issue/{key}/comment", "addComment", self.add_comment),
            ("GET", rf"issue/{key}/comment", "getComments", self.get_comments),
            ("PUT", rf"issue/{key}/comment/(?P<id>[^/]+)", "updateComment", self.update_comment),
            (
                "PUT",
                r"comment/(?P<id>[^/]+)/properties/(?P<prop>[^/]+)",
                "setCommentProperty",
                self.set_comment_property,
            ),
            ("DELETE", r"attachment/(?P<id>\d+)", "removeAttachment", self.remove_attachment),
            ("POST", rf"issue/{key}/attachments", "addAttachment", self.add_attachments),
            ("GET", r"attachment/content/(?P<id>[^/]+)", "getAttachmentContent", self.attachment_content),
            ("GET", rf"issue/{key}/transitions", "getTransitions", self.get_transitions),
            ("POST", rf"issue/{key}/transitions", "doTransition", self.do_transition),
            ("GET", rf"issue/{key}/watchers", "getIssueWatchers", self.get_watchers),
            ("POST", rf"issue/{key}/watchers", "addWatcher", self.add_watcher),
            ("DELETE", rf"issue/{key}/watchers", "removeWatcher", self.remove_watcher),
            ("PUT", rf"issue/{key}/properties/(?P<prop>[^/]+)", "setIssueProperty", self.set_property),
            ("POST", r"permissions/check", "getBulkPermissions", self.check_permissions),
        ]
        if self.flavour == "cloud":
            table.append(("POST", r"search/jql", "searchAndReconsileIssuesUsingJqlPost", self.search))
        else:
            table.append(("POST", r"search", "searchForIssuesUsingJqlPost", self.search))
        return [Route(m, re.compile(rf"{re.escape(self.prefix)}/{p}"), op, h) for m, p, op, h in table]

    def server_info(self, request: Request) -> tuple[int, Any]:
        return 200, {
            "baseUrl": self.base_url,
            "version": "1001.0.0-SNAPSHOT" if self.flavour == "cloud" else "10.3.1",
            "versionNumbers": [1001, 0, 0] if self.flavour == "cloud" else [10, 3, 1],
            "deploymentType": "Cloud" if self.flavour == "cloud" else "Server",
            "buildNumber": 100244,
            "buildDate": "2025-01-01T00:00:00.000+0000",
            "serverTime": jira_time(now()),
            "scmInfo": "fake",
            "serverTitle": "Fake Jira",
        }

    def myself(self, request: Request) -> tuple[int, Any]:
        return 200, self.user_json(self.service)

    @staticmethod
    def field_json(f: Any) -> dict[str, Any]:
        return {
            "id": f.id,
            "key": f.id,
            "name": f.name,
            "custom": f.custom,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [f"cf[{f.schema['customId']}]", f.name] if f.custom else [f.id],
            "schema": f.schema,
        }

    def get_fields(self, request: Request) -> tuple[int, Any]:
        return 200, [self.field_json(f) for f in self.state.fields]

    FIELD_TYPES = {"textfield": "textsearcher", "textarea": "textsearcher"}

    def create_field(self, request: Request) -> tuple[int, Any]:
        """POST /field (createCustomField): Jira administrators only; text and paragraph fields."""
        if not self.state.has_permission("ADMINISTER"):
            raise JiraError(
                403, ["You are not authorized to perform this action. Administrator privileges are required."]
            )
        body = request.json() or {}
        name = str(body.get("name") or "").strip()
        prefix = "com.atlassian.jira.plugin.system.customfieldtypes:"
        kind = str(body.get("type") or "").removeprefix(prefix)
        if not name:
            raise JiraError(400, errors={"name": "You must specify a name for the custom field."})
        if kind not in self.FIELD_TYPES:
            raise JiraError(400, errors={"type": f"Unknown custom field type: {body.get('type')!r}."})
        searcher = body.get("searcherKey")
        if searcher is not None and searcher != prefix + self.FIELD_TYPES[kind]:
            raise JiraError(400, errors={"searcherKey": f"Searcher {searcher!r} is not valid for {kind}."})
        with self.state.lock:
            number = next(self.state._field_ids)
            schema = {"type": "string", "custom": prefix + kind, "customId": number}
            created = type(self.state.fields[0])(f"customfield_{number}", name, True, schema)
            self.state.fields.append(created)
        return 201, self.field_json(created)

    def my_permissions(self, request: Request) -> tuple[int, Any]:
        """GET /mypermissions?projectKey=&permissions=: what the calling account may do (in a project)."""
        wanted = [p for p in (request.arg("permissions") or "").split(",") if p]
        if not wanted:
            raise JiraError(400, ["The 'permissions' parameter is required."])
        unknown = [p for p in wanted if p not in PERMISSIONS]
        if unknown:
            raise JiraError(400, [f"Unrecognized permission key(s): {', '.join(unknown)}"])
        project = request.arg("projectKey") or ""
        if project:
            self._project(project)
        result = {}
        for key in wanted:
            permission_id, name, kind = PERMISSIONS[key]
            result[key] = {
                "id": permission_id,
                "key": key,
                "name": name,
                "type": kind,
                "description": f"Ability to {name.lower()}.",
                "havePermission": self.state.has_permission(key, project if kind == "PROJECT" else ""),
            }
        return 200, {"permissions": result}

    def _project(self, key: str) -> Any:
        project = self.state.projects.get(key.upper()) or next(
            (p for p in self.state.projects.values() if p.id == key), None
        )
        if project is None or not self.state.has_permission("BROWSE_PROJECTS", project.key):
            raise JiraError(404, [f"No project could be found with key '{key}'."])  # also when it may not be seen
        return project

    def _visible_projects(self) -> list[Any]:
        return sorted(
            (p for p in self.state.projects.values() if self.state.has_permission("BROWSE_PROJECTS", p.key)),
            key=lambda p: p.key,
        )

    def search_projects(self, request: Request) -> tuple[int, Any]:
        """GET /project/search (Cloud): the projects the account may browse, a page at a time (at most 50)."""
        start = int(request.arg("startAt") or 0)
        size = min(int(request.arg("maxResults") or 50), 50)
        visible = self._visible_projects()
        page = visible[start : start + size]
        return 200, {
            "self": self.url("project/search"),
            "startAt": start,
            "maxResults": size,
            "total": len(visible),
            "isLast": start + size >= len(visible),
            "values": [self.project_json(p) for p in page],
        }

    def get_all_projects(self, request: Request) -> tuple[int, Any]:
        """GET /project (Data Center; deprecated on Cloud): every project the account may browse, in one list."""
        return 200, [self.project_json(p) for p in self._visible_projects()]

    def get_project(self, request: Request, key: str) -> tuple[int, Any]:
        return 200, self.project_json(self._project(key))

    def project_json(self, project: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": self.url(f"project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "issueTypes": [self.issue_type_json(name) for name in ISSUE_TYPES],
        }
        if project.lead:
            body["lead"] = self.user_json(self.state.users[project.lead])
        return body

    def get_statuses(self, request: Request, key: str) -> tuple[int, Any]:
        self._project(key)
        return 200, [
            {
                "self": self.url(f"issuetype/{self.issue_type_json(name)['id']}"),
                "id": self.issue_type_json(name)["id"],
                "name": name,
                "subtask": False,
                "statuses": [self.status_json(s) for s in STATUSES],
            }
            for name in ISSUE_TYPES
        ]

    def get_priorities(self, request: Request) -> tuple[int, Any]:
        return 200, [self.priority_json(name) for name in PRIORITIES]

    def get_resolutions(self, request: Request) -> tuple[int, Any]:
        return 200, [self.resolution_json(name) for name in RESOLUTIONS]

    def find_users(self, request: Request) -> tuple[int, Any]:
        wanted = (request.arg("query") if self.flavour == "cloud" else request.arg("username")) or ""
        if not wanted:
            raise JiraError(400, ["One of 'query' or 'accountId' parameters must be provided."])
        wanted = wanted.casefold()
        found = [
            u
            for u in self.state.users.values()
            if u.active
            and (
                u.display_name.casefold().startswith(wanted)
                or (u.email.casefold().startswith(wanted) and (not u.hide_email or self.hidden_addresses_match))
                or (self.flavour == "datacenter" and u.name.casefold().startswith(wanted))
            )
        ]
        return 200, [self.user_json(u) for u in found[: int(request.arg("maxResults") or 50)]]

    def get_user(self, request: Request) -> tuple[int, Any]:
        if self.flavour == "cloud":
            user = self.state.user(request.arg("accountId"))
        else:
            user = self.state.user_by_name(request.arg("username") or "")
        if user is None:
            raise JiraError(404, ["The user does not exist."])
        return 200, self.user_json(user)

    def check_permissions(self, request: Request) -> tuple[int, Any]:
        """The bulk permission check: for each asked project permission, the asked projects the account holds it
        in (a project's lead holds every permission there)."""
        body = request.json()
        account_id = body.get("accountId") or ""
        grants: list[dict[str, Any]] = []
        with self.state.lock:
            user = self.state.users.get(account_id)
            for asked in body.get("projectPermissions") or []:
                projects = [p for p in self.state.projects.values() if int(p.id) in (asked.get("projects") or [])]
                for permission in asked.get("permissions") or []:
                    held = [
                        int(p.id)
                        for p in projects
                        if user is not None
                        and user.active
                        and (p.lead == account_id or permission in self.state.grants.get((account_id, p.key), ()))
                    ]
                    grants.append({"permission": permission, "projects": held, "issues": []})
        return 200, {"globalPermissions": [], "projectPermissions": grants}

    def _issue(self, key: str) -> Issue:
        issue = self.state.issue(key)
        if issue is None:
            raise JiraError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def create_issue(self, request: Request) -> tuple[int, Any]:
        body = request.json()
        given = dict(body.get("fields") or {})
        project_ref = given.get("project") or {}
        project = self.state.projects.get(str(project_ref.get("key", "")).upper()) or next(
            (p for p in self.state.projects.values() if p.id == project_ref.get("id")), None
        )
        if project is None:
            raise JiraError(400, errors={"project": "Specify a valid project ID or key"})
        for required in ("summary", "issuetype"):
            if required not in given:
                raise JiraError(400, errors={required: f"You must specify the {required}."})
        off_screen = {
            field_id: f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
            for field_id in given
            if field_id in self.state.off_screen
        }
        if off_screen:
            raise JiraError(400, errors=off_screen)
        fields: dict[str, Any] = {"priority": DEFAULT_PRIORITY, "labels": []}
        self._apply_fields(fields, given, creating=True)
        properties = {p["key"]: p["value"] for p in body.get("properties") or []}
        with self.state.lock:
            project.counter += 1
            moment = now()
            issue = Issue(self.state.next_id(), f"{project.key}-{project.counter}", project.key, fields, moment, moment)
            issue.properties.update(properties)
            self.state.issues[issue.id] = issue
        return 201, {"id": issue.id, "key": issue.key, "self": self.url(f"issue/{issue.id}")}

    def get_issue(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        properties = [p for value in request.args_all("properties") for p in value.split(",") if p]
        return 200, self.issue_json(issue, properties)

    def edit_issue(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        body = request.json()
        with self.state.lock:
            fields = dict(issue.fields)
            self._apply_fields(fields, body.get("fields") or {}, creating=False)
            issue.fields = fields
            for prop in body.get("properties") or []:
                issue.properties[prop["key"]] = prop["value"]
            issue.updated = now()
        return 204, None

    def add_comment(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        body = request.json()
        text = self._text(body.get("body"), "comment body")
        if len(text) > TEXT_LIMIT:
            raise JiraError(
                400,
                errors={"comment": "The entered text is too long. It exceeds the allowed limit of 32767 characters."},
            )
        if not text.strip():
            raise JiraError(400, errors={"comment": "Comment body can not be empty!"})
        with self.state.lock:
            comment = Comment(self.state.next_id(), self.service.account_id, body["body"], now())
            comment.properties = {p["key"]: p["value"] for p in body.get("properties") or []}
            issue.comments.append(comment)
            issue.updated = comment.created
        return 201, self.comment_json(issue, comment, with_properties=False)

    def get_comments(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        start = int(request.arg("startAt") or 0)
        size = min(int(request.arg("maxResults") or 50), 100)
        with_properties = "properties" in (request.arg("expand") or "")
        page = issue.comments[start : start + size]
        return 200, {
            "startAt": start,
            "maxResults": size,
            "total": len(issue.comments),
            "comments": [self.comment_json(issue, c, with_properties=with_properties) for c in page],
        }

    def _comment(self, comment_id: str) -> tuple[Issue, Comment]:
        for issue in self.state.issues.values():
            for comment in issue.comments:
                if comment.id == comment_id:
                    return issue, comment
        raise JiraError(404, ["Can not find a comment for the id."])

    def update_comment(self, request: Request, key: str, id: str) -> tuple[int, Any]:
        issue = self._issue(key)
        _, comment = self._comment(id)
        body = request.json()
        text = self._text(body.get("body"), "comment body")
        if not text.strip():
            raise JiraError(400, errors={"comment": "Comment body can not be empty!"})
        with self.state.lock:
            comment.body = body["body"]
            for prop in body.get("properties") or []:
                comment.properties[prop["key"]] = prop["value"]
            issue.updated = now()
        return 200, self.comment_json(issue, comment, with_properties=False)

    def set_comment_property(self, request: Request, id: str, prop: str) -> tuple[int, Any]:
        _, comment = self._comment(id)
        with self.state.lock:
            created = prop not in comment.properties
            comment.properties[prop] = request.json()
        return (201 if created else 200), {}

    def remove_attachment(self, request: Request, id: str) -> tuple[int, Any]:
        attachment = self._attachment(id)
        with self.state.lock:
            for issue in self.state.issues.values():
                issue.attachments = [a for a in issue.attachments if a.id != attachment.id]
        return 204, None

    def add_attachments(self, request: Request, key: str) -> tuple[int, Any]:
        if request.headers.get("X-Atlassian-Token", "").lower() != "no-check":
            raise JiraError(403, ["XSRF check failed"])
        issue = self._issue(key)
        ctype = request.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise JiraError(415, ["multipart/form-data expected"])
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.body)
        parts = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if not parts or len(parts) > 60:
            raise JiraError(413, ["between 1 and 60 parts named 'file' expected"])
        created = []
        with self.state.lock:
            for part in parts:
                attachment = Attachment(
                    self.state.next_id(),
                    issue.id,
                    part.get_filename() or "unnamed",
                    part.get_content_type(),
                    bytes(part.get_payload(decode=True) or b""),
                    self.service.account_id,
                    now(),
                )
                issue.attachments.append(attachment)
                created.append(attachment)
            issue.updated = now()
        return 200, [self.attachment_json(a) for a in created]

    def _attachment(self, attachment_id: str) -> Attachment:
        for issue in self.state.issues.values():
            for attachment in issue.attachments:
                if attachment.id == attachment_id:
                    return attachment
        raise JiraError(404, ["The attachment does not exist."])

    def attachment_content(self, request: Request, id: str) -> tuple[int, Any]:
        return 200, self._attachment(id)

    def _transitions(self, issue: Issue) -> list[dict[str, Any]]:
        return [
            {
                "id": TRANSITION_IDS[name],
                "name": name,
                "to": self.status_json(to),
                "hasScreen": False,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for name, to in WORKFLOW[issue.status]
        ]

    def get_transitions(self, request: Request, key: str) -> tuple[int, Any]:
        return 200, {"expand": "transitions", "transitions": self._transitions(self._issue(key))}

    def do_transition(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        body = request.json()
        wanted = str((body.get("transition") or {}).get("id", ""))
        move = next(((n, to) for n, to in WORKFLOW[issue.status] if TRANSITION_IDS[n] == wanted), None)
        if move is None:
            raise JiraError(400, [f"Transition id '{wanted}' is not valid for this issue."])
        fields = body.get("fields") or {}
        resolution = None
        if "resolution" in fields:
            resolution = self._named(
                fields["resolution"], RESOLUTIONS, "resolution", lambda n: str(RESOLUTIONS.index(n) + 10000)
            )
        with self.state.lock:
            issue.status = move[1]
            if STATUSES[move[1]] == "done":
                if issue.resolution is None or resolution:
                    issue.resolution = resolution or DEFAULT_RESOLUTION
                    issue.resolved = now()
            else:
                issue.resolution, issue.resolved = None, None
            issue.updated = now()
        return 204, None

    def get_watchers(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        return 200, {
            "self": self.url(f"issue/{issue.key}/watchers"),
            "isWatching": self.service.account_id in issue.watchers,
            "watchCount": len(issue.watchers),
            "watchers": [self.user_json(self.state.users[w]) for w in issue.watchers],
        }

    def add_watcher(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        value = request.json()
        user = self.state.user(value) if self.flavour == "cloud" else self.state.user_by_name(value)
        if user is None:
            raise JiraError(404, [f'The user "{value}" does not exist.'])
        if not user.active:
            raise JiraError(400, [f'The user "{value}" is inactive.'])
        with self.state.lock:
            if user.account_id not in issue.watchers:
                issue.watchers.append(user.account_id)
        return 204, None

    def remove_watcher(self, request: Request, key: str) -> tuple[int, Any]:
        issue = self._issue(key)
        if self.flavour == "cloud":
            user = self.state.user(request.arg("accountId"))
        else:
            user = self.state.user_by_name(request.arg("username") or "")
        if user is None:
            raise JiraError(404, ["The user does not exist."])
        with self.state.lock:
            if user.account_id in issue.watchers:
                issue.watchers.remove(user.account_id)
        return 204, None

    def set_property(self, request: Request, key: str, prop: str) -> tuple[int, Any]:
        issue = self._issue(key)
        with self.state.lock:
            created = prop not in issue.properties
            issue.properties[prop] = request.json()
        return (201 if created else 200), {}

    # -- JQL: the few clauses the backend sends -----------------------------------------------------------------
    CLAUSE = re.compile(
        r'^(?:(?P<project>project)\s*=\s*"?(?P<pvalue>[A-Z0-9_]+)"?'
        r'|cf\[(?P<cf>\d+)\]\s*~\s*"(?P<cfvalue>(?:[^"\\]|\\.)*)"'
        r'|issue\.property\[(?P<prop>[\w.-]+)\]\.(?P<path>[\w.]+)\s*=\s*"(?P<propvalue>(?:[^"\\]|\\.)*)")$',
        re.IGNORECASE,
    )

    def _jql(self, jql: str) -> list[Issue]:
        text, _, order = jql.partition(" ORDER BY ")
        if order and order.strip().lower() not in ("created desc", "created desc, key desc"):
            raise JiraError(400, [f"fake Jira: unsupported ORDER BY {order!r}"])
        tests: list[Callable[[Issue], bool]] = []
        for clause in re.split(r"\s+AND\s+", text.strip()):
            match = self.CLAUSE.match(clause.strip())
            if match is None:
                self.violations.append(f"JQL the fake does not know: {clause!r} (in {jql!r})")
                raise JiraError(400, [f"fake Jira: unsupported JQL clause {clause!r}"])
            if match["project"]:
                value = match["pvalue"].upper()
                if value not in self.state.projects:
                    raise JiraError(400, [f"The value '{value}' does not exist for the field 'project'."])
                tests.append(functools.partial(_in_project, project=value))
            elif match["cf"]:
                field_id, value = f"customfield_{match['cf']}", _unquote(match["cfvalue"]).strip('"').casefold()
                tests.append(functools.partial(_field_contains, field_id=field_id, text=value))
            else:
                prop, path, value = match["prop"], match["path"].split("."), _unquote(match["propvalue"])

                def has(issue: Issue, prop: str = prop, path: list[str] = path, value: str = value) -> bool:
                    current: Any = issue.properties.get(prop)
                    for step in path:
                        current = current.get(step) if isinstance(current, dict) else None
                    return current == value

                tests.append(has)
        found = [i for i in self.state.issues.values() if all(t(i) for t in tests)]
        return sorted(found, key=lambda i: (i.created, int(i.id)), reverse=True)

    def search(self, request: Request) -> tuple[int, Any]:
        body = request.json()
        found = self._jql(body.get("jql") or "")
        size = min(int(body.get("maxResults") or 50), 100)
        issues = [self.issue_json(i, body.get("properties")) for i in found[:size]]
        for issue in issues:  # only the fields asked for (Cloud's default: id only)
            wanted = body.get("fields") or ([] if self.flavour == "cloud" else ["*all"])
            if "*all" not in wanted:
                issue["fields"] = {k: v for k, v in issue["fields"].items() if k in wanted}
        if self.flavour == "cloud":
            return 200, {"issues": issues, "isLast": len(found) <= size}
        return 200, {"expand": "", "startAt": 0, "maxResults": size, "total": len(found), "issues": issues}


def _in_project(issue: Issue, project: str) -> bool:
    return issue.project == project


def _field_contains(issue: Issue, field_id: str, text: str) -> bool:
    value = issue.fields.get(field_id)
    if isinstance(value, dict):  # a rich-text field (ADF on Cloud): Jira searches its text
        value = _adf_text(value)
    return isinstance(value, str) and text in value.casefold()


def _adf_text(node: Any) -> str:
    """The characters of an ADF document that count against Jira's 32,767 limit: its text and line breaks."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    return (
        "\n".join(_adf_text(child) for child in node.get("content") or [])
        if node.get("type") == "doc"
        else "".join(_adf_text(child) for child in node.get("content") or [])
    )


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


class Request:
    """What a handler gets: the parsed request."""

    def __init__(self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body
        self.validated = True  # checked against the OpenAPI description (FakeJira.validate_every)

    def arg(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def args_all(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise JiraError(400, [f"Unexpected character in the JSON body: {exc}"]) from exc


class _Handler(BaseHTTPRequestHandler):
    jira: FakeJira
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: with Nagle's algorithm the body would wait for the client's delayed ACK
    # (40 ms on Linux) on every keep-alive answer, a latency real Jira does not add
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        jira = self.jira
        with jira._lock:
            jira.in_flight += 1
            jira.peak_in_flight = max(jira.peak_in_flight, jira.in_flight)
        try:
            self._serve()
        finally:
            with jira._lock:
                jira.in_flight -= 1

    do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        jira = self.jira
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        headers = {k: v for k, v in self.headers.items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(self.command, parts.path, query, headers, body)

        if jira.flavour == "datacenter" and parts.path.startswith("/secure/attachment/"):
            # Data Center serves attachment content outside the REST API (no spec describes it)
            jira.calls["secureAttachment"] += 1
            if not self._authenticated(headers):
                return self._send(
                    401, {"errorMessages": ["You are not authenticated."], "errors": {}}, "secureAttachment", request
                )
            try:
                attachment = jira._attachment(parts.path.split("/")[3])
            except JiraError as exc:
                return self._send(exc.status, exc.body, "secureAttachment", request)
            return self._send(200, attachment, "secureAttachment", request)

        route, params = None, {}
        for candidate in jira.routes:
            match = candidate.pattern.fullmatch(parts.path)
            if match and candidate.method == self.command:
                route, params = candidate, match.groupdict()
                break
        if route is None:
            jira.violations.append(f"the backend called {self.command} {parts.path}, which the fake does not serve")
            return self._send(404, {"errorMessages": ["fake Jira: no such endpoint"], "errors": {}}, "unknown", request)
        operation = route.operation
        jira.calls[operation] += 1
        if jira.latency:
            time.sleep(jira.latency)
        request.validated = jira._validates()
        try:
            if request.validated and jira._background is None:
                spec.check_request(jira.flavour, operation, self.command.lower(), parts.path, query, headers, body)
        except spec.SpecViolation as exc:
            jira.violations.append(str(exc))
            return self._send(400, {"errorMessages": [f"fake Jira: {exc}"], "errors": {}}, operation, request)

        refusal = jira._refusal()
        if refusal is not None:
            kind, wait = refusal
            jira.refused_calls[operation] += 1
            if kind == "outage-drop":
                return self._drop()
            if kind == "outage-503":
                outage = {"errorMessages": ["Service unavailable (outage)."], "errors": {}}
                return self._send(503, outage, operation, request)
            extra = {"Retry-After": str(wait), **jira.rate_limit_headers()}
            refused = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
            return self._send(429, refused, operation, request, extra)

        fault = jira._take_fault(operation)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop == "before":
                return self._drop()
            if fault.status is not None:
                extra = dict(fault.headers or {})
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                if fault.status == 429:
                    extra = {**jira.rate_limit_headers(), **extra}
                message = "Rate limit exceeded." if fault.status == 429 else "Service unavailable (injected)."
                return self._send(fault.status, {"errorMessages": [message], "errors": {}}, operation, request, extra)

        if operation != "getServerInfo" and not self._authenticated(headers):
            extra = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if jira.flavour == "datacenter" else {}
            return self._send(
                401,
                {"errorMessages": ["You are not authenticated. Authentication required."], "errors": {}},
                operation,
                request,
                extra,
            )
        try:
            status, payload = route.handler(request, **params)
        except JiraError as exc:
            status, payload = exc.status, exc.body
        except spec.SpecViolation as exc:
            jira.violations.append(str(exc))
            status, payload = 400, {"errorMessages": [f"fake Jira: {exc}"], "errors": {}}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # only reachable unchecked (validate_every, or checks in the background): what the spec would have
            # refused; Jira answers such a request 400
            status, payload = 400, {"errorMessages": [f"Malformed request: {type(exc).__name__}: {exc}"], "errors": {}}
        if fault is not None and fault.drop == "after":
            return self._drop()
        self._send(status, payload, operation, request)

    def _authenticated(self, headers: dict[str, str]) -> bool:
        given = headers.get("Authorization", "")
        if self.jira.flavour == "cloud":
            expected = base64.b64encode(f"{FakeJira.EMAIL}:{FakeJira.API_TOKEN}".encode()).decode()
            return given == f"Basic {expected}"
        return given == f"Bearer {FakeJira.PAT}"

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self, status: int, payload: Any, operation: str, request: Request, extra: dict[str, str] | None = None
    ) -> None:
        if isinstance(payload, Attachment):
            data, ctype = payload.content, payload.mime_type
        elif payload is None:
            data, ctype = b"", ""
        else:
            data, ctype = json.dumps(payload).encode(), "application/json;charset=UTF-8"
        if (
            request.validated
            and operation not in ("unknown", "secureAttachment")
            and not (status == 400 and b"fake Jira:" in data)  # a finding already recorded
        ):
            record: Record = (
                self.jira.flavour,
                operation,
                request.method.lower(),
                request.path,
                request.query,
                request.headers,
                request.body,
                status,
                data,
                ctype.split(";")[0] or "application/json",
            )
            if self.jira._background is not None:
                self.jira._background.check(record)  # request and response, after answering
            else:
                try:
                    spec.check_response(*record)
                except spec.SpecViolation as exc:
                    self.jira.violations.append(str(exc))
        with self.jira._lock:
            self.jira.timeline[(int(time.time()), "refused" if status == 429 or status >= 500 else "answered")] += 1
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if self.jira.flavour == "cloud":
            self.send_header("X-AAccountId", self.jira.service.account_id)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
