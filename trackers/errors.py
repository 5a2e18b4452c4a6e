"""Errors a Tracker raises. The pipeline catches these, never a backend's own exceptions.

``TemporaryTrackerError`` (and its subclasses) means "try again later": the database or the remote
tracker is unavailable or busy. Every other ``TrackerError`` is final for the same input and should be
recorded as the message's outcome with the error's text, which always says what to do next.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of everything a Tracker raises on purpose."""

    retryable = False


class TrackerNotAvailable(TrackerError):
    """The instance's tracker kind has no backend (yet), or it is not configured."""


class NotFound(TrackerError):
    """A project, issue, comment, attachment or user does not exist in this instance."""


class ProjectNotFound(NotFound):
    pass


class IssueNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class PermissionDenied(TrackerError):
    """The acting user may not do this (e.g. an inactive account, or Jira refused it)."""


class AccessRefused(PermissionDenied):
    """The tracker refused the instance's own credentials or its account's permissions (Jira's 401/403). Every
    message would fail the same way until an admin fixes them: the instance's processing pauses (messages stay
    waiting) and its admins are told once; retrying is no use."""


class InvalidTransition(TrackerError):
    """The issue's workflow has no transition from its current status to the requested one."""


class InvalidFieldValue(TrackerError):
    """A field value the tracker does not accept (unknown issue type or priority, bad label, ...)."""


class TemporaryTrackerError(TrackerError):
    """The tracker is unavailable or busy; the same call may succeed later (retry with back-off).

    ``retry_after``: seconds the tracker asked us to wait (None: back off as usual). ``throttled``: the tracker
    refused for its rate limit, before doing any work; such a refusal is not a failed attempt of the message."""

    retryable = True
    retry_after: float | None = None
    throttled = False
