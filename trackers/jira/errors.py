"""Jira's refusals as the interface's errors (:mod:`trackers.errors`), with what an admin can do about them."""

from __future__ import annotations

from trackers import errors


class JiraAuthError(errors.AccessRefused):
    """Jira refused the instance's credentials (401) or their permissions (403). Retrying will not help: the
    instance's processing should pause with an alert until an admin fixes the token or the permission."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class JiraTemporaryError(errors.TemporaryTrackerError):
    """Jira is busy (429) or failing (5xx, timeouts, dropped connections). ``retry_after`` (seconds, or None) is
    when to try again: release the message with that retry time rather than sleeping on it."""

    def __init__(
        self, message: str, retry_after: float | None = None, status: int | None = None, throttled: bool | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        #: refused before any work for a rate or concurrency limit (a 429, or no free call slot): not a failure
        self.throttled = status == 429 if throttled is None else throttled


class JiraRefusal(errors.InvalidFieldValue):
    """Jira refused a request as invalid (400, 409, 413, 422): not retried, the message needs an admin. ``fields``
    maps each field Jira named (by id, e.g. ``customfield_10100``) to its message; the text names them by name."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})
        self.status = status
