"""Who a notification goes to: the mapping's audience on an issue, minus exclusions and our own addresses."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from profiles.patterns import LinearPattern, compiled
from profiles.services import current_own_addresses


@dataclass(frozen=True)
class Person:
    email: str = ""
    name: str = ""
    account_id: str = ""


@dataclass(frozen=True)
class IssueView:
    """What notifications know of an issue: from the tracker, or from a snapshot in the event payload."""

    key: str
    project_key: str
    summary: str = ""
    description: str = ""
    status: str = ""
    priority: str = ""
    issue_type: str = ""
    resolution: str = ""
    reporter: Person | None = None
    assignee: Person | None = None
    watchers: tuple[Person, ...] = ()
    participants: tuple[str, ...] = ()
    project_lead: Person | None = None
    exists: bool = True

    def to_snapshot(self) -> dict[str, Any]:
        def person(p: Person | None) -> dict[str, str] | None:
            return None if p is None else {"email": p.email, "name": p.name, "account_id": p.account_id}

        return {
            "key": self.key,
            "project_key": self.project_key,
            "summary": self.summary,
            "status": self.status,
            "priority": self.priority,
            "issue_type": self.issue_type,
            "resolution": self.resolution,
            "description": self.description,
            "reporter": person(self.reporter),
            "assignee": person(self.assignee),
            "watchers": [person(w) for w in self.watchers],
            "participants": list(self.participants),
            "project_lead": person(self.project_lead),
        }


def _person(value: Any) -> Person | None:
    if not value:
        return None
    if isinstance(value, Mapping):
        return Person(
            str(value.get("email") or ""),
            str(value.get("name") or value.get("display_name") or ""),
            str(value.get("account_id") or ""),
        )
    return Person(
        getattr(value, "email", "") or "",
        getattr(value, "display_name", "") or "",
        getattr(value, "account_id", "") or "",
    )


def issue_view_from_tracker(issue: Any, project_lead: Any = None) -> IssueView:
    """An IssueView of a ``trackers.interface.TrackerIssue``; an email-only reporter becomes the reporter."""
    reporter = _person(issue.reporter)
    if reporter is None and issue.email_sender_address:
        reporter = Person(issue.email_sender_address, issue.email_sender_name or "")
    return IssueView(
        key=issue.key,
        project_key=issue.project_key,
        summary=issue.summary,
        description=issue.description,
        status=issue.status,
        priority=issue.priority,
        issue_type=issue.issue_type,
        resolution=issue.resolution,
        reporter=reporter,
        assignee=_person(issue.assignee),
        watchers=tuple(p for p in (_person(w) for w in issue.watchers) if p),
        participants=tuple(issue.email_participants),
        project_lead=_person(project_lead),
    )


def issue_view_from_snapshot(key: str, snapshot: Mapping[str, Any]) -> IssueView:
    """An IssueView of a snapshot dict (see :meth:`IssueView.to_snapshot`), e.g. from a Jira webhook."""
    return IssueView(
        key=key,
        project_key=str(snapshot.get("project_key") or key.rsplit("-", 1)[0]),
        summary=str(snapshot.get("summary") or ""),
        description=str(snapshot.get("description") or ""),
        status=str(snapshot.get("status") or ""),
        priority=str(snapshot.get("priority") or ""),
        issue_type=str(snapshot.get("issue_type") or ""),
        resolution=str(snapshot.get("resolution") or ""),
        reporter=_person(snapshot.get("reporter")),
        assignee=_person(snapshot.get("assignee")),
        watchers=tuple(p for p in (_person(w) for w in snapshot.get("watchers") or []) if p),
        participants=tuple(str(a) for a in snapshot.get("participants") or []),
        project_lead=_person(snapshot.get("project_lead")),
        exists=False,
    )


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip() and not line.strip().startswith("#")]


def normalize(address: str) -> str:
    return (address or "").strip().lower()


def valid_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def audience(mapping: Any, issue: IssueView) -> list[str]:
    """Every address the mapping's audience flags select on the issue, lower-cased, in a stable order."""
    found: list[str] = []
    if mapping.notify_reporter and issue.reporter:
        found.append(issue.reporter.email)
    if mapping.notify_assignee and issue.assignee:
        found.append(issue.assignee.email)
    if mapping.notify_watchers:
        found.extend(w.email for w in issue.watchers)
    if mapping.notify_participants:
        found.extend(issue.participants)
    if mapping.notify_project_lead and issue.project_lead:
        found.append(issue.project_lead.email)
    found.extend(split_lines(mapping.fixed_recipients))
    return [a for a in dict.fromkeys(normalize(a) for a in found if a) if valid_address(a)]


def _without_tag(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


@dataclass(frozen=True)
class Exclusions:
    """Address patterns (admin-given) plus our own addresses (catch and reply addresses of the profiles)."""

    patterns: tuple[str, ...] = ()
    own_addresses: frozenset[str] = frozenset()
    own_regexes: tuple[LinearPattern, ...] = field(default=())

    def reason(self, address: str) -> str | None:
        """Why ``address`` must not be notified (no personal data in the text), or None."""
        address = normalize(address)
        if address in self.own_addresses or _without_tag(address) in self.own_addresses:
            return "one of our own catch or reply addresses"
        if any(rx.fullmatch(address) for rx in self.own_regexes):
            return "matches a catch address pattern of a profile"
        for index, pattern in enumerate(self.patterns, start=1):
            if pattern_matches(pattern, address):
                return f"exclusion pattern #{index}"
        return None


def pattern_matches(pattern: str, address: str) -> bool:
    pattern = pattern.strip().lower()
    domain = address.rpartition("@")[2]
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(address, pattern) or ("@" not in pattern and fnmatch.fnmatchcase(domain, pattern))
    if pattern.startswith("@"):
        return domain == pattern[1:]
    if "@" not in pattern:
        return domain == pattern
    return address == pattern


def pattern_errors(text: str) -> list[str]:
    errors = []
    for line in split_lines(text):
        if " " in line or line.count("@") > 1:
            errors.append(f"{line!r} is not an address, domain or wildcard pattern")
    return errors


def instance_exclusions(instance_id: int, patterns: Iterable[str] = ()) -> Exclusions:
    """Exclusions for an instance: ``patterns`` plus every profile's catch addresses and reply address.

    Reads the profiles app's models (read-only); profiles offer no per-instance service for this yet.
    """
    return instance_addresses(instance_id, patterns)[0]


def instance_reply_address(instance_id: int) -> str:
    """The reply address of the instance's first profile that has one (enabled profiles first), or ""."""
    return instance_addresses(instance_id)[1]


def instance_addresses(instance_id: int, patterns: Iterable[str] = ()) -> tuple[Exclusions, str]:
    """:func:`instance_exclusions` and :func:`instance_reply_address` together, from the profiles' own
    addresses (``profiles.services.current_own_addresses``, cached while the profiles are unchanged)."""
    own = current_own_addresses(instance_id)
    regexes: list[LinearPattern] = []
    for pattern in own.patterns:
        try:
            regexes.append(compiled(pattern, re.IGNORECASE))
        except re.error:
            continue  # profiles validate their regexes; a broken one excludes nothing
    return Exclusions(tuple(patterns), own.literals, tuple(regexes)), own.reply_address
