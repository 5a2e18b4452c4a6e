"""A small Microsoft Graph HTTP client (httpx): bearer tokens, throttling and Graph's error answers.

- A ``401`` is answered once by asking for a fresh token (``token(fresh=True)``) and sending the request again; a
  second ``401`` is Graph's final word.
- ``429`` and ``503`` (throttled, or the service busy) are retried after the ``Retry-After`` Graph sends (seconds or
  an HTTP date; without one, 1, 2, 4... seconds), at most ``JEMH_GRAPH_RETRIES`` times and only while the wait is at
  most ``JEMH_GRAPH_MAX_WAIT`` seconds; then :class:`GraphThrottled` says how long Graph asked to wait.
- Other answers of 400 and above raise :class:`GraphError` with Graph's error code and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

THROTTLED = frozenset({429, 503})
TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class GraphError(Exception):
    """Graph answered with an error (``status``), or could not be reached (``status`` 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Microsoft Graph answered {status} {code}: {message}" if status else message)
        self.status, self.code, self.message = status, code, message


class GraphThrottled(GraphError):
    """Graph kept throttling the request; ``retry_after`` is the wait it asked for, in seconds."""

    def __init__(self, status: int, retry_after: float) -> None:
        message = f"the request was throttled; Graph asks to retry after {retry_after:.0f} s"
        super().__init__(status, "throttled", message)
        self.retry_after = retry_after


class GraphUnreachable(GraphError):
    """No answer from Graph. ``maybe_done``: the whole request was sent and the answer never came, so Graph may have
    acted on it (a timeout while reading, a dropped connection after the request)."""

    def __init__(self, cause: Exception, *, maybe_done: bool) -> None:
        super().__init__(0, "unreachable", f"Microsoft Graph could not be reached ({type(cause).__name__}: {cause})")
        self.maybe_done = maybe_done


def retry_after(response: httpx.Response, attempt: int) -> float:
    """The wait Graph asks for (seconds, or an HTTP date), else exponential: 1, 2, 4... seconds."""
    value = response.headers.get("Retry-After", "").strip()
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    return float(2**attempt)


def _error(response: httpx.Response) -> GraphError:
    code, message = "", response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", ""))
        message = str(body["error"].get("message", "")) or message
    return GraphError(response.status_code, code or response.reason_phrase, message)


class GraphClient:
    """Requests to Graph as one identity; ``token(fresh)`` gives its access token (a fresh one when asked)."""

    def __init__(self, token: Callable[[bool], str], *, base_url: str | None = None) -> None:
        self._token = token
        self._current: str | None = None
        self.base_url = (base_url or settings.JEMH_GRAPH_URL).rstrip("/")
        self._http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self.sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """A path under the Graph root, or a full URL Graph gave (``@odata.nextLink``) unchanged."""
        return path if path.startswith(("https://", "http://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request; the successful response (with ``stream``, unread: the caller reads and closes it)."""
        refreshed = False
        throttled = 0
        max_wait = float(getattr(settings, "JEMH_GRAPH_MAX_WAIT", 30))
        retries = int(getattr(settings, "JEMH_GRAPH_RETRIES", 3))
        while True:
            if self._current is None:
                self._current = self._token(False)
            request = self._http.build_request(
                method,
                self.url(path),
                json=json,
                content=content,
                headers={**(headers or {}), "Authorization": f"Bearer {self._current}"},
            )
            try:
                response = self._http.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise GraphUnreachable(exc, maybe_done=False) from exc
            except httpx.TransportError as exc:  # read timeouts, dropped connections: the request may have landed
                raise GraphUnreachable(exc, maybe_done=True) from exc
            if response.status_code < 400:
                return response
            if stream:
                response.read()
                response.close()
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._current = self._token(True)
                continue
            if response.status_code in THROTTLED:
                wait = retry_after(response, throttled)
                if throttled < retries and wait <= max_wait:
                    throttled += 1
                    self.sleep(wait)
                    continue
                raise GraphThrottled(response.status_code, wait)
            raise _error(response)
