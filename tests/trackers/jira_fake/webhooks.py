"""The fake Jira's webhook sender: bodies in the shapes of the captured payloads (``shared/jira/webhooks/``), signed
as Jira signs them (``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``), each delivery with its own
``X-Atlassian-Webhook-Identifier`` (kept on a retry).

Shapes, as Jira sends them: REST v2 representations (descriptions and comment bodies are strings, also on Cloud);
modern Cloud users carry ``accountId`` and no ``emailAddress``; Data Center users carry ``name``, ``key`` and
``emailAddress``. A comment added makes two deliveries: ``comment_created`` (Cloud: with a trimmed ``issue``; Data
Center: no ``issue``, its id only in ``comment.self``) and ``jira:issue_updated`` with ``issue_event_type_name``
``issue_commented`` (the whole issue and the comment).

Admin helpers (:meth:`WebhookEmitter.comment_as`, :meth:`attach_as`) change the fake as a person would in Jira's UI
and send what Jira sends; :meth:`WebhookEmitter.follow_api` makes the changes our backend makes through the REST API
come back as webhooks too (from a thread, after the answer, as Jira delivers them), with the API account as actor.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.trackers.jira_fake.server import FakeJira, _adf_text
from tests.trackers.jira_fake.state import Attachment, Comment, Issue, User, now

#: (url, raw body, headers) → HTTP status of the answer
Transport = Callable[[str, bytes, dict[str, str]], int]
TRIMMED_FIELDS = ("summary", "issuetype", "project", "assignee", "priority", "status")
_identifiers = itertools.count(1_000_001)


def http_transport(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


def jira_signature(secret: str, body: bytes) -> str:
    """What Jira puts in X-Hub-Signature (computed here independently of the code under test)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One webhook delivery as sent: the body's bytes, the headers, and the status our side answered."""

    event: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None

    @property
    def identifier(self) -> str:
        return self.headers["X-Atlassian-Webhook-Identifier"]

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class WebhookEmitter:
    """Jira's webhook sender for one fake site, delivering to ``url`` (signed when ``secret`` is given)."""

    fake: FakeJira
    url: str
    secret: str | None = None
    transport: Transport = http_transport
    delay: float = 0.05  # follow_api: the delivery leaves this long after the API answered
    background: bool = True  # follow_api: deliver from a thread (False: keep them for deliver_followed)
    sent: list[Delivery] = field(default_factory=list)
    _followed: list[Callable[[], None]] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- representations (REST v2, as webhooks carry them) --------------------------------------------------------
    def user(self, user: User) -> dict[str, Any]:
        body = self.fake.user_json(user)
        body["self"] = f"{self.fake.base_url}/rest/api/2/user?" + (
            f"accountId={user.account_id}" if self.fake.flavour == "cloud" else f"username={user.name}"
        )
        if self.fake.flavour == "cloud":
            body.pop("emailAddress", None)  # modern Cloud payloads carry no addresses
        return body

    def _v2(self, value: Any) -> Any:
        """A REST v3 value as a webhook carries it: ADF becomes its text; user objects lose what webhooks omit."""
        if isinstance(value, dict):
            if value.get("type") == "doc":
                return _adf_text(value)
            if "accountId" in value and "avatarUrls" in value:
                user = self.fake.state.user(value["accountId"])
                if user is not None:
                    return self.user(user)
            return {k: self._v2(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._v2(v) for v in value]
        return value

    def issue(self, issue: Issue, *, trimmed: bool = False) -> dict[str, Any]:
        body = self._v2(self.fake.issue_json(issue))
        body["self"] = f"{self.fake.base_url}/rest/api/2/issue/{issue.id}"
        if trimmed:
            body["fields"] = {k: body["fields"].get(k) for k in TRIMMED_FIELDS}
        return dict(body)

    def comment(self, issue: Issue, comment: Comment) -> dict[str, Any]:
        body = self.fake.comment_json(issue, comment, with_properties=False)
        body["self"] = f"{self.fake.base_url}/rest/api/2/issue/{issue.id}/comment/{comment.id}"
        body["body"] = _adf_text(comment.body) if isinstance(comment.body, dict) else comment.body
        body["author"] = body["updateAuthor"] = self.user(self.fake.state.users[comment.author])
        if self.fake.flavour == "datacenter":
            body.pop("jsdPublic", None)
        return dict(body)

    def _envelope(self, event: str, actor: User | None, **rest: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"timestamp": int(time.time() * 1000), "webhookEvent": event}
        if actor is not None:
            body["user"] = self.user(actor)
        body.update(rest)
        return body

    # -- bodies ---------------------------------------------------------------------------------------------------
    def comment_created(self, issue: Issue, comment: Comment) -> dict[str, Any]:
        body = self._envelope("comment_created", None, comment=self.comment(issue, comment))
        if self.fake.flavour == "cloud":  # Data Center (7.1 and later) sends no issue with it
            body["issue"] = self.issue(issue, trimmed=True)
        return body

    def issue_commented(self, issue: Issue, comment: Comment, actor: User) -> dict[str, Any]:
        return self._envelope(
            "jira:issue_updated",
            actor,
            issue_event_type_name="issue_commented",
            issue=self.issue(issue),
            comment=self.comment(issue, comment),
        )

    def issue_created(self, issue: Issue, actor: User) -> dict[str, Any]:
        items = [{"field": "summary", "fieldtype": "jira", "from": None, "fromString": None, "to": None,
                  "toString": issue.fields.get("summary")}]  # fmt: skip
        return self._envelope(
            "jira:issue_created",
            actor,
            issue_event_type_name="issue_created",
            issue=self.issue(issue),
            changelog={"id": str(next(_identifiers)), "items": items},
        )

    def issue_updated(
        self, issue: Issue, actor: User, items: list[dict[str, Any]], type_name: str = "issue_updated"
    ) -> dict[str, Any]:
        return self._envelope(
            "jira:issue_updated",
            actor,
            issue_event_type_name=type_name,
            issue=self.issue(issue),
            changelog={"id": str(next(_identifiers)), "items": items},
        )

    # -- delivering -----------------------------------------------------------------------------------------------
    def headers(self, body: bytes, identifier: str | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": identifier or str(next(_identifiers)),
        }
        if self.secret is not None:
            headers["X-Hub-Signature"] = jira_signature(self.secret, body)
        return headers

    def deliver(self, body: dict[str, Any] | bytes, *, headers: dict[str, str] | None = None) -> Delivery:
        """Send one delivery (``headers`` replace the ones Jira would send); the answer's status is recorded."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        event = "?" if isinstance(body, bytes) else str(body.get("webhookEvent"))
        delivery = Delivery(event, raw, headers if headers is not None else self.headers(raw))
        delivery.status = self.transport(self.url, raw, delivery.headers)
        with self._lock:
            self.sent.append(delivery)
        return delivery

    def retry(self, delivery: Delivery) -> Delivery:
        """Jira's retry of a delivery: the same body and identifier."""
        return self.deliver(delivery.body, headers={**delivery.headers, "X-Atlassian-Webhook-Retry": "1"})

    # -- what people do in Jira's UI ------------------------------------------------------------------------------
    def _issue(self, key: str) -> Issue:
        issue = self.fake.state.issue(key)
        assert issue is not None, key
        return issue

    def comment_as(self, user: User, issue_key: str, text: str) -> list[Delivery]:
        """``user`` comments on the issue in Jira; both deliveries Jira makes for it are sent."""
        issue = self._issue(issue_key)
        body: Any = text
        if self.fake.flavour == "cloud":
            body = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": text}]}]}  # fmt: skip
        with self.fake.state.lock:
            comment = Comment(self.fake.state.next_id(), user.account_id, body, now())
            issue.comments.append(comment)
            issue.updated = comment.created
        return [
            self.deliver(self.comment_created(issue, comment)),
            self.deliver(self.issue_commented(issue, comment, user)),
        ]

    def attach_as(self, user: User, issue_key: str, filename: str, content: bytes, mime: str) -> Delivery:
        """``user`` attaches a file in Jira (an update whose changelog names the file)."""
        issue = self._issue(issue_key)
        with self.fake.state.lock:
            attachment_id = self.fake.state.next_id()
            attachment = Attachment(attachment_id, issue.id, filename, mime, content, user.account_id, now())
            issue.attachments.append(attachment)
            issue.updated = attachment.created
        item = {"field": "Attachment", "fieldtype": "jira", "fieldId": "attachment", "from": None, "fromString": None,
                "to": attachment.id, "toString": filename}  # fmt: skip
        return self.deliver(self.issue_updated(issue, user, [item]))

    # -- our backend's changes coming back ------------------------------------------------------------------------
    def follow_api(self) -> None:
        """From now on, issues, comments and transitions made through the REST API are delivered as webhooks too."""
        for route in self.fake.routes:
            if route.operation in ("createIssue", "addComment", "doTransition"):
                route.handler = self._following(route.operation, route.handler)

    def _following(self, operation: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(request: Any, **params: Any) -> Any:
            before = self.fake.state.issue(params["key"]).status if "key" in params else None
            status, payload = handler(request, **params)
            if status < 300:
                self._later(lambda: self._api_change(operation, params, payload, before))
            return status, payload

        return wrapped

    def _api_change(self, operation: str, params: dict[str, Any], payload: Any, before: str | None) -> None:
        actor = self.fake.service
        if operation == "createIssue":
            self.deliver(self.issue_created(self._issue(payload["key"]), actor))
            return
        issue = self._issue(params["key"])
        if operation == "addComment":
            comment = next(c for c in issue.comments if c.id == payload["id"])
            self.deliver(self.comment_created(issue, comment))
            self.deliver(self.issue_commented(issue, comment, actor))
        elif operation == "doTransition":
            items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": None, "fromString": before,
                      "to": None, "toString": issue.status}]  # fmt: skip
            if issue.resolution:
                items.insert(0, {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
                                 "fromString": None, "to": None, "toString": issue.resolution})  # fmt: skip
            self.deliver(self.issue_updated(issue, actor, items, "issue_generic"))

    def _later(self, work: Callable[[], None]) -> None:
        if not self.background:
            with self._lock:
                self._followed.append(work)
            return

        def run() -> None:
            time.sleep(self.delay)
            work()

        thread = threading.Thread(target=run, daemon=True, name="fake-jira-webhook")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def deliver_followed(self) -> list[Delivery]:
        """Send, from the caller's thread, what follow_api kept (``background=False``); the deliveries sent."""
        with self._lock:
            works, self._followed[:] = list(self._followed), []
            start = len(self.sent)
        for work in works:
            work()
        return self.sent[start:]

    def wait(self, timeout: float = 30.0) -> None:
        """Until every delivery started by follow_api has been answered."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = [t for t in self._threads if t.is_alive()]
            if not running:
                return
            assert time.monotonic() < deadline, "webhook deliveries still running"
            running[0].join(timeout=0.1)
