"""JiraClient: HTTP to one Jira site (httpx): authentication, timeouts, pooled connections, rate limits, errors.

Why httpx: explicit connect/read timeouts, a pooled keep-alive client that is safe to share between threads, the
same API synchronously and asynchronously (``httpx.AsyncClient``, for keeping many Jira calls in flight within an
instance's concurrency bound), and multipart uploads of many files in one request.

Rate limits: a 429 (or a 503 with ``Retry-After``) is waited out here only when the wait is short
(:attr:`JiraClient.max_inline_wait`, with jitter); otherwise the call raises :class:`JiraTemporaryError`
carrying the retry time, so a worker never sleeps for minutes holding a message. The wait Jira asked for
(``Retry-After``, else ``X-RateLimit-Reset`` when ``X-RateLimit-Remaining`` is 0) pauses the threads of the
process that uses this client, not only the refused call (up to ``max_inline_wait``; a longer wait releases each
message that meets it), as far as the limit reaches (``RateLimit-Reason``, Cloud): ``jira-burst-based`` is counted
per endpoint and method, so only calls to that endpoint (:func:`endpoint_of`) pause, as Atlassian asks;
``jira-per-issue-on-write`` is about one issue, so nothing else pauses; any other 429 (Data Center's token bucket,
quota limits, no reason given) and a 503 with ``Retry-After`` pause every call.

Concurrency: with ``slots`` (:class:`trackers.jira.concurrency.CallSlots`), each request holds one of the
instance's call slots while it is on the wire, so all workers together keep at most the instance's
``jira_max_concurrency`` requests in flight.
"""

from __future__ import annotations

import email.utils
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from jemh import metrics
from trackers import errors
from trackers.jira.concurrency import CallSlots
from trackers.jira.errors import JiraAuthError, JiraRefusal, JiraTemporaryError

CLOUD = "cloud"
DATA_CENTER = "datacenter"


@dataclass(frozen=True)
class Credentials:
    """Cloud: account e-mail + API token (HTTP basic). Data Center: a personal access token (bearer)."""

    deployment: str
    email: str = ""
    api_token: str = ""
    pat: str = ""

    def headers(self) -> dict[str, str]:
        if self.deployment == DATA_CENTER:
            return {"Authorization": f"Bearer {self.pat}"}
        return {}

    def auth(self) -> httpx.BasicAuth | None:
        return httpx.BasicAuth(self.email, self.api_token) if self.deployment == CLOUD else None


#: a path segment that names a resource kind ("issue", "comment", "serverInfo"); any other names one resource
_KIND = re.compile(r"[a-z][A-Za-z]*")


def endpoint_of(method: str, path: str) -> str:
    """The endpoint a call goes to, as Jira counts burst limits: its method and path template (``POST
    issue/{}/comment``): issue keys, ids, project keys and property keys become ``{}``."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    return f"{method} " + "/".join(s if _KIND.fullmatch(s) else "{}" for s in segments)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """How long Jira asks us to wait: ``Retry-After`` (seconds or an HTTP date), else ``X-RateLimit-Reset``."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = email.utils.parsedate_to_datetime(value)
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
        except ValueError:
            pass
    return None


def exhausted_for(response: httpx.Response) -> float | None:
    """On a successful answer: seconds until the rate-limit window resets when ``X-RateLimit-Remaining`` says
    nothing is left of it (None otherwise)."""
    if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
        return None
    return retry_after_seconds(response)


def error_text(response: httpx.Response) -> str:
    """Jira's ErrorCollection in one line: the messages, then ``field: message`` for each field."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{field}: {message}" for field, message in (body.get("errors") or {}).items()]
    return "; ".join(parts) or response.reason_phrase


def error_fields(response: httpx.Response) -> dict[str, str]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return dict(body.get("errors") or {}) if isinstance(body, dict) else {}


def refusal_text(what: str, response: httpx.Response, field_name: Callable[[str], str | None] | None = None) -> str:
    """A 400-like refusal in words an admin can act on: what was refused, each field Jira named (by its name, when
    ``field_name`` knows the id), Jira's messages, and what to do."""
    fields = error_fields(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    messages = [str(m) for m in (body.get("errorMessages") or [])] if isinstance(body, dict) else []
    if not fields and not messages:
        messages = [response.text[:300].strip() or response.reason_phrase]

    def named(field_id: str) -> str:
        name = field_name(field_id) if field_name is not None and field_id.startswith("customfield_") else None
        return f"{name} ({field_id})" if name else field_id

    parts = [f"field {named(field)}: {message}" for field, message in fields.items()] + messages
    text = f"Jira refused {what} ({response.status_code}): {'; '.join(parts)}"
    if fields:
        names = ", ".join(named(field) for field in fields)
        return (
            f"{text}. What to do: check {names} in Jira (it must be on the project's create and edit screens and "
            "accept the value) or fix the mapping or directive that sets it; then process the message again"
        )
    return f"{text}. What to do: fix what Jira names (in Jira or in the mapping), then process the message again"


class JiraClient:
    """Calls to one Jira site's REST API (``/rest/api/3`` on Cloud, ``/rest/api/2`` on Data Center)."""

    #: a Retry-After up to this many seconds is waited out in the call (with jitter); longer ones raise
    max_inline_wait = 3.0
    #: how many times a refused call (429/503 with a short Retry-After, or a GET that timed out) is tried again
    max_retries = 2

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_connections: int = 10,
        transport: httpx.BaseTransport | None = None,
        slots: CallSlots | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.deployment = credentials.deployment
        self.api = f"/rest/api/{'3' if credentials.deployment == CLOUD else '2'}"
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        if transport is None:
            # a POST's headers and body are separate writes: without TCP_NODELAY the body waits for the server's
            # delayed ACK (40 ms on Linux), on every write call
            transport = httpx.HTTPTransport(limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=credentials.auth(),
            headers={**credentials.headers(), "Accept": "application/json", "User-Agent": "jemh-mailhandler"},
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=limits,
            transport=transport,
        )
        self._lock = threading.Lock()
        #: the name of a custom field by its id (set by :func:`trackers.jira.client_for`), for refusals' texts
        self.field_name: Callable[[str], str | None] | None = None
        self.slots = slots
        #: time.monotonic() before which no call is sent (Jira asked us to wait), and the same for one endpoint
        self._paused_until = 0.0
        self._endpoint_paused_until: dict[str, float] = {}
        #: calls made, by endpoint ("METHOD path-template", for cost reports)
        self.calls: dict[str, int] = {}

    @property
    def is_cloud(self) -> bool:
        return self.deployment == CLOUD

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: list[tuple[str, tuple[str, Any, str]]] | None = None,
        headers: Mapping[str, str] | None = None,
        absolute: bool = False,
        not_found: type[errors.NotFound] | None = errors.NotFound,
        what: str = "",
        retry_unsafe: bool = False,
    ) -> httpx.Response:
        """One call; ``path`` is relative to the API root unless ``absolute``. Errors become trackers.errors:

        401/403 → JiraAuthError; 404 → ``not_found`` (None: return the response); 400/409/413/422 →
        InvalidFieldValue naming the fields; 429/5xx/timeouts/dropped connections → JiraTemporaryError with the
        retry time. 429s and 503s with a short Retry-After are tried again here; a timed-out or dropped POST is
        not (the caller knows whether it is safe: ``retry_unsafe``)."""
        url = path if absolute else f"{self.api}/{path}"
        label = f"{method} {path.split('?')[0]}"
        endpoint = endpoint_of(method, path)
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_pause(label, endpoint)
            with self._lock:
                self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            try:
                response = self._send(method, url, params=params, json=json, files=files, headers=headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                metrics.count("jemh_jira_requests", status="error")
                safe = method in ("GET", "PUT", "DELETE") or retry_unsafe
                if safe and attempt <= self.max_retries:
                    time.sleep(random.uniform(0.05, 0.3) * attempt)
                    continue
                raise JiraTemporaryError(
                    f"Jira at {self.base_url} did not answer {label} ({type(exc).__name__}); try again later",
                    retry_after=None,
                ) from exc
            status = response.status_code
            metrics.count("jemh_jira_requests", status=str(status) if status == 429 else f"{status // 100}xx")
            if status == 429:
                metrics.count("jemh_jira_rate_limited")
            if status < 400:
                exhausted = exhausted_for(response)
                if exhausted:
                    self._pause(min(exhausted, self.max_inline_wait))
                return response
            if status == 429 or status >= 500:
                wait = retry_after_seconds(response)
                reason = response.headers.get("RateLimit-Reason", "").strip()
                if (status == 429 or wait) and reason != "jira-per-issue-on-write":  # that one is per issue
                    scope = endpoint if status == 429 and reason == "jira-burst-based" else None
                    self._pause(min(wait if wait is not None else 0.5, self.max_inline_wait), scope)
                retryable_here = status in (429, 503) or (method == "GET")
                if retryable_here and attempt <= self.max_retries and (wait or 0.5) <= self.max_inline_wait:
                    time.sleep((wait or 0.5) * random.uniform(1.0, 1.3))  # jitter: never retry all at once
                    continue
                kind = (
                    f"rate-limited ({reason})"
                    if status == 429 and reason
                    else ("rate-limited" if status == 429 else f"failing ({status})")
                )
                raise JiraTemporaryError(
                    f"Jira at {self.base_url} is {kind} on {label}: {error_text(response)}; "
                    + (f"retry after {wait:.0f} s" if wait is not None else "try again later"),
                    retry_after=(wait * random.uniform(1.0, 1.2)) if wait is not None else None,
                    status=status,
                )
            if status in (401, 403):
                if status == 401:
                    advice = "the instance's Jira credentials are wrong or expired: set a new API token / PAT"
                else:
                    advice = "the Jira account lacks a permission for this: grant it in Jira's permission scheme"
                raise JiraAuthError(f"Jira refused {label} ({status}: {error_text(response)}); {advice}", status)
            if status == 404:
                if not_found is None:
                    return response
                raise not_found(f"{what or label}: not found in Jira ({error_text(response)})")
            raise JiraRefusal(refusal_text(what or label, response, self.field_name), error_fields(response), status)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.slots is None:
            return self._http.request(method, url, **kwargs)
        with self.slots.slot():
            return self._http.request(method, url, **kwargs)

    def _pause(self, seconds: float, endpoint: str | None = None) -> None:
        """Jira asked for ``seconds`` of quiet (on ``endpoint`` only, else on every call): no thread sends there
        through this client before then (with jitter, so the threads do not all come back at the same instant)."""
        until = time.monotonic() + seconds
        with self._lock:
            if endpoint is None:
                self._paused_until = max(self._paused_until, until)
            else:
                self._endpoint_paused_until[endpoint] = max(self._endpoint_paused_until.get(endpoint, 0.0), until)

    def _wait_for_pause(self, label: str, endpoint: str) -> None:
        with self._lock:
            moment = time.monotonic()
            left = max(self._paused_until, self._endpoint_paused_until.get(endpoint, 0.0)) - moment
        if left <= 0:
            return
        if left > self.max_inline_wait:
            raise JiraTemporaryError(
                f"Jira at {self.base_url} asked for a pause; {label} is retried after {left:.0f} s",
                retry_after=left * random.uniform(1.0, 1.2),
                throttled=True,
            )
        time.sleep(left * random.uniform(1.0, 1.3))

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()
