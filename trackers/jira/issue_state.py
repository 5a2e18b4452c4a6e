"""The issue-state cache of the Jira backend: what an issue looked like when the backend last read it, kept in the
database (:class:`trackers.models.JiraIssueState`) so every worker process shares it, for
``JEMH_JIRA_ISSUE_STATE_SECONDS`` (300 by default; 0 turns it off).

Fresh because every change we know of replaces the row's ``version``: the backend's own writes to the issue, every
Jira webhook delivery about it (:func:`forget_issue`, called on intake; except the echo of a comment we added and
counted in ourselves), and a 404 on it. A read stores what it
saw only if the version it noted *before* asking Jira is still there, so a read that raced with a change never
writes back the state from before the change. Changes made in Jira that send no webhook are seen once the entry
is older than the TTL: that bounds how stale the participants (who may write), the status (workflow) and the
comment count can be.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trackers.interface import TrackerIssue, TrackerUser
from trackers.models import JiraIssueState

# A tombstone (a row without state) must outlive any read that was in flight when it was made; rows older than the
# TTL plus this are deleted by the retention purge.
KEEP_TOMBSTONES = timedelta(hours=1)
# How many of our own comments' ids a row remembers (their webhooks arrive within seconds).
OWN_COMMENTS_KEPT = 20
# What is kept of each of Jira's attachment entries (its author, with an address, is not).
ATTACHMENT_KEYS = ("id", "filename", "mimeType", "size", "created", "content")

_STATE_FIELDS = ["state", "attachments", "comment_count", "issue_updated_at", "fetched_at", "version", "changed_at"]


def ttl_seconds() -> int:
    """How long a read issue is served from the cache (``JEMH_JIRA_ISSUE_STATE_SECONDS``); 0: not at all."""
    return max(0, int(getattr(settings, "JEMH_JIRA_ISSUE_STATE_SECONDS", 300)))


def _new_version() -> int:
    return secrets.randbits(62) + 1


# -- TrackerIssue as JSON ---------------------------------------------------------------------------------------------
def _user_to_json(user: TrackerUser | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "account_id": user.account_id,
        "email": user.email,
        "display_name": user.display_name,
        "active": user.active,
    }


def _user_from_json(value: dict[str, Any] | None) -> TrackerUser | None:
    if value is None:
        return None
    return TrackerUser(
        account_id=value["account_id"],
        email=value["email"],
        display_name=value["display_name"],
        active=bool(value["active"]),
    )


def _time_to_json(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time_from_json(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def issue_to_json(issue: TrackerIssue) -> dict[str, Any]:
    """The issue as a JSON value that :func:`issue_from_json` turns back into an equal issue."""
    return {
        "key": issue.key,
        "project_key": issue.project_key,
        "summary": issue.summary,
        "description": issue.description,
        "issue_type": issue.issue_type,
        "priority": issue.priority,
        "status": issue.status,
        "resolution": issue.resolution,
        "resolved_at": _time_to_json(issue.resolved_at),
        "created_at": _time_to_json(issue.created_at),
        "updated_at": _time_to_json(issue.updated_at),
        "reporter": _user_to_json(issue.reporter),
        "assignee": _user_to_json(issue.assignee),
        "labels": list(issue.labels),
        "watchers": [_user_to_json(w) for w in issue.watchers],
        "email_sender_address": issue.email_sender_address,
        "email_sender_name": issue.email_sender_name,
        "email_participants": list(issue.email_participants),
        "custom_fields": dict(issue.custom_fields),
        "comment_count": issue.comment_count,
    }


def issue_from_json(value: dict[str, Any]) -> TrackerIssue:
    created_at = _time_from_json(value["created_at"])
    updated_at = _time_from_json(value["updated_at"])
    assert created_at is not None and updated_at is not None
    return TrackerIssue(
        key=value["key"],
        project_key=value["project_key"],
        summary=value["summary"],
        description=value["description"],
        issue_type=value["issue_type"],
        priority=value["priority"],
        status=value["status"],
        resolution=value["resolution"],
        resolved_at=_time_from_json(value["resolved_at"]),
        created_at=created_at,
        updated_at=updated_at,
        reporter=_user_from_json(value["reporter"]),
        assignee=_user_from_json(value["assignee"]),
        labels=tuple(value["labels"]),
        watchers=tuple(u for u in (_user_from_json(w) for w in value["watchers"]) if u is not None),
        email_sender_address=value["email_sender_address"],
        email_sender_name=value["email_sender_name"],
        email_participants=tuple(value["email_participants"]),
        custom_fields=dict(value["custom_fields"]),
        comment_count=value["comment_count"],
    )


def _kept_attachments(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: raw[k] for k in ATTACHMENT_KEYS if k in raw} for raw in raws]


# -- the cache --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cached:
    """An issue served from the cache, with its attachment list when that was read with it."""

    issue: TrackerIssue
    attachments: list[dict[str, Any]] | None


@dataclass(frozen=True)
class Lookup:
    """What the cache has for a key: a fresh entry (or None), and the version a read must find to store its result
    (None: there is no row; the read inserts one unless another appeared meanwhile)."""

    cached: Cached | None
    version: int | None


MISS = Lookup(None, None)


class IssueStates:
    """The cached issue states of one instance's Jira site."""

    def __init__(self, instance_id: int, site: str) -> None:
        self.instance_id = instance_id
        self.site = site

    def _rows(self, keys: list[str]) -> Any:
        return JiraIssueState.objects.filter(instance_id=self.instance_id, issue_key__in=keys)

    def look(self, keys: list[str]) -> dict[str, Lookup]:
        """The cache's answer for each of ``keys`` (normalised keys: stripped, upper case), in one query."""
        ttl = ttl_seconds()
        if not ttl or not keys:
            return dict.fromkeys(keys, MISS)
        oldest = timezone.now() - timedelta(seconds=ttl)
        found = dict.fromkeys(keys, MISS)
        for row in self._rows(keys):
            cached = None
            state = row.state
            fresh = state is not None and row.fetched_at is not None and row.fetched_at > oldest
            if fresh and state.get("site") == self.site:
                issue = issue_from_json(state["issue"])
                if row.comment_count != issue.comment_count or (  # our own comments since the read
                    row.issue_updated_at is not None and row.issue_updated_at > issue.updated_at
                ):
                    issue = replace(
                        issue,
                        comment_count=row.comment_count,
                        updated_at=max(issue.updated_at, row.issue_updated_at or issue.updated_at),
                    )
                cached = Cached(issue, row.attachments)
            found[row.issue_key] = Lookup(cached, row.version)
        return found

    def store(
        self, key: str, issue: TrackerIssue, attachments: list[dict[str, Any]] | None, version: int | None
    ) -> None:
        """Keep what a read saw, unless the issue changed since the read noted ``version``."""
        if not ttl_seconds():
            return
        now = timezone.now()
        values = {
            "state": {"site": self.site, "issue": issue_to_json(issue)},
            "attachments": _kept_attachments(attachments) if attachments is not None else None,
            "comment_count": issue.comment_count,
            "issue_updated_at": issue.updated_at,
            "fetched_at": now,
            "changed_at": now,
        }
        if version is None:
            row = JiraIssueState(instance_id=self.instance_id, issue_key=key, version=_new_version(), **values)
            JiraIssueState.objects.bulk_create([row], ignore_conflicts=True)
        else:
            self._rows([key]).filter(version=version).update(**values)

    def forget(self, key: str, *, tombstone: bool = True) -> None:
        """The issue changed (or is gone): nothing kept, and a read that started before cannot store. Without
        ``tombstone`` only an existing row is cleared (for a 404: no row is made for a key nobody has)."""
        now = timezone.now()
        values: dict[str, Any] = {
            "state": None,
            "attachments": None,
            "comment_count": None,
            "issue_updated_at": None,
            "fetched_at": None,
            "version": _new_version(),
            "changed_at": now,
        }
        if tombstone and ttl_seconds():
            row = JiraIssueState(instance_id=self.instance_id, issue_key=key, **values)
            JiraIssueState.objects.bulk_create(
                [row], update_conflicts=True, unique_fields=["instance", "issue_key"], update_fields=_STATE_FIELDS
            )
        else:
            self._rows([key]).update(**values)

    def commented(self, key: str, at: datetime, comment_id: str) -> None:
        """We added the comment ``comment_id`` to the issue, ``at``: its count goes up by one (a count not known stays
        unknown), it was updated then, and Jira's webhooks about that comment need not make anyone read it again."""
        with transaction.atomic():
            row = self._rows([key]).select_for_update().first()
            if row is None:
                self.forget(key)
                return
            if row.comment_count is not None:
                row.comment_count += 1
            if row.issue_updated_at is not None:
                row.issue_updated_at = max(row.issue_updated_at, at)
            row.own_comments = [*(c for c in row.own_comments if c != comment_id), comment_id][-OWN_COMMENTS_KEPT:]
            row.version = _new_version()
            row.changed_at = timezone.now()
            row.save(update_fields=["comment_count", "issue_updated_at", "own_comments", "version", "changed_at"])

    def attached(self, key: str, raws: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """We uploaded these attachments (Jira's answer): added to the kept list; the list now, if known."""
        with transaction.atomic():
            row = self._rows([key]).select_for_update().first()
            if row is None or row.state is None or row.attachments is None:
                self.forget(key)
                return None
            known = {str(a.get("id")) for a in row.attachments}
            row.attachments = [*row.attachments, *(a for a in _kept_attachments(raws) if str(a.get("id")) not in known)]
            row.version = _new_version()
            row.changed_at = timezone.now()
            row.save(update_fields=["attachments", "version", "changed_at"])
            return list(row.attachments)

    def forget_all(self) -> int:
        """Delete every kept state of the instance (an erasure); the number of rows deleted."""
        return forget_instance(self.instance_id)


def forget_issue(instance_id: int, issue_key: str, *, comment_added: str | None = None) -> None:
    """Jira told us the issue changed (a webhook delivery): the next read asks Jira. Not when the delivery says only
    that the comment ``comment_added`` was added and that comment is one we added and counted in ourselves (its
    echo: nothing the kept state does not already say)."""
    key = issue_key.strip().upper()
    if not key:
        return
    if comment_added:
        kept = JiraIssueState.objects.filter(instance_id=instance_id, issue_key=key).values_list(
            "own_comments", flat=True
        )
        if any(comment_added in (ids or []) for ids in kept):
            return
    IssueStates(instance_id, "").forget(key)


def forget_instance(instance_id: int) -> int:
    """Delete every kept state of an instance; the number of rows deleted."""
    deleted, _ = JiraIssueState.objects.filter(instance_id=instance_id).delete()
    return deleted


def purge_expired(now: datetime | None = None, *, dry_run: bool = False, batch: int = 500) -> int:
    """Delete (or, dry, count) the rows older than the TTL and the tombstones' margin, in batches; how many."""
    oldest = (now or timezone.now()) - timedelta(seconds=ttl_seconds()) - KEEP_TOMBSTONES
    rows = JiraIssueState.objects.filter(changed_at__lt=oldest)
    if dry_run:
        return rows.count()
    total = 0
    while pks := list(rows.order_by("pk").values_list("pk", flat=True)[:batch]):
        deleted, _ = JiraIssueState.objects.filter(pk__in=pks, changed_at__lt=oldest).delete()
        total += deleted
        if len(pks) < batch:
            break
    return total
