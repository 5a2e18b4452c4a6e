"""An in-memory Tracker for unit tests: dicts instead of the database, faithful to the local tracker's semantics
where the pipeline relies on them (idempotent creates by key, finding issues by key, Message-ID, foreign key and
user e-mail, comments, attachments, the local workflow's transitions, participants, custom fields)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from trackers import errors
from trackers.interface import (
    ERASED_SENDER,
    PROJECT_PERMISSIONS,
    REDACTED_TEXT,
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
    mentions,
    normalize_message_id,
    without_address,
)
from trackers.workflow import (
    IssueType,
    Priority,
    Resolution,
    ResolutionState,
    Status,
    canonical,
    find_transition,
    resolution_after,
    transitions_from,
)


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    """As the local tracker: stripped, first spelling of each address kept, a non-address refused."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in values:
        address = raw.strip()
        if not address:
            continue
        if "@" not in address or any(c.isspace() for c in address):
            raise errors.InvalidFieldValue("not an email address")
        if address.casefold() not in seen:
            seen.add(address.casefold())
            result.append(address)
    return tuple(result)


def _labels(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(label for label in ("_".join(str(v).split()) for v in values) if label))


@dataclass
class _Stored:
    issue: TrackerIssue
    comments: list[TrackerComment] = field(default_factory=list)
    attachments: list[tuple[TrackerAttachment, bytes, str | None]] = field(default_factory=list)  # (…, data, key)


class MemoryTracker:
    """A Tracker kept in dicts. Add projects and users with ``add_project`` / ``add_user``."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self.projects: dict[str, TrackerProject] = {}
        self.users: dict[str, TrackerUser] = {}
        self.issues: dict[str, _Stored] = {}
        self.message_ids: dict[str, str] = {}  # normalized Message-ID -> issue key (latest wins)
        self.by_idempotency_key: dict[str, str] = {}  # "issue:<key>" / "comment:<key>" -> issue key / comment id
        self.numbers: dict[str, int] = {}
        self.calls: list[str] = []  # the changing calls made, in order (for assertions)
        self.grants: dict[tuple[str, str], set[str]] = {}  # (account id, project key) -> permissions held

    # -- set-up ---------------------------------------------------------------------------------------
    def add_project(self, key: str = "ABC", name: str = "", *, lead: TrackerUser | None = None) -> TrackerProject:
        project = TrackerProject(
            key=key.upper(),
            name=name or key,
            lead=lead,
            default_issue_type=IssueType.TASK,
            default_priority=Priority.MEDIUM,
            issue_types=tuple(IssueType.values),
            priorities=tuple(Priority.values),
            statuses=tuple(Status.values),
        )
        self.projects[key.upper()] = project
        return project

    def add_user(self, account_id: str, email: str, name: str = "", *, active: bool = True) -> TrackerUser:
        user = TrackerUser(account_id, email, name or account_id, active)
        self.users[account_id] = user
        return user

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        """Give the account these project permissions (``trackers.interface.Permission`` values)."""
        self.grants.setdefault((account_id, project_key.upper()), set()).update(permissions)

    # -- projects and users ---------------------------------------------------------------------------
    def project_permissions(self, account_id: str, project_key: str, permissions: Iterable[str]) -> frozenset[str]:
        project = self.get_project(project_key)
        wanted = frozenset(permissions) & PROJECT_PERMISSIONS
        user = self.users.get(account_id)
        if user is None or not user.active:
            return frozenset()
        if project.lead is not None and project.lead.account_id == account_id:
            return wanted
        return wanted & frozenset(self.grants.get((account_id, project.key), ()))

    def get_project(self, project_key: str) -> TrackerProject:
        try:
            return self.projects[project_key.strip().upper()]
        except KeyError:
            raise errors.ProjectNotFound(f"no project {project_key!r}") from None

    def project_keys(self) -> tuple[str, ...]:
        return tuple(sorted(self.projects))

    def find_user_by_email(self, email: str) -> TrackerUser | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.active and u.email.lower() == wanted), None)

    def find_users_by_email(self, emails: Sequence[str]) -> dict[str, TrackerUser | None]:
        return {email: self.find_user_by_email(email) for email in emails}

    def user_lookup_note(self, email: str) -> str:
        return ""

    def get_user(self, account_id: str) -> TrackerUser | None:
        return self.users.get(account_id)

    def _user(
        self, account_id: str, role: str, inactive: type[errors.TrackerError] = errors.InvalidFieldValue
    ) -> TrackerUser:
        """The active user (as a field value; an inactive one raises ``inactive``)."""
        user = self.users.get(account_id)
        if user is None:
            raise errors.UserNotFound(f"no {role} {account_id!r}")
        if not user.active:
            raise inactive(f"the {role} {account_id!r} is inactive")
        return user

    def _act(self, actor: Actor | None) -> None:
        """An actor with an account must exist and be active (it may not act otherwise)."""
        if actor is not None and actor.account_id:
            self._user(actor.account_id, "actor", errors.PermissionDenied)

    @staticmethod
    def _json(values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return dict(json.loads(json.dumps(dict(values))))
        except (TypeError, ValueError):
            raise errors.InvalidFieldValue("custom field values must be JSON (text, numbers, lists)") from None

    # -- finding issues -------------------------------------------------------------------------------
    def _stored(self, key: str) -> _Stored:
        try:
            return self.issues[key.strip().upper()]
        except KeyError:
            raise errors.IssueNotFound(f"no issue {key!r}") from None

    def find_issue(self, key: str) -> TrackerIssue | None:
        stored = self.issues.get(key.strip().upper())
        return stored.issue if stored else None

    def find_issues(self, keys: Sequence[str]) -> dict[str, TrackerIssue]:
        return {key: issue for key in keys if (issue := self.find_issue(key)) is not None}

    def get_issue(self, key: str) -> TrackerIssue:
        return self._stored(key).issue

    def find_issue_by_message_ids(self, message_ids: Sequence[str]) -> TrackerIssue | None:
        for message_id in message_ids:
            if not message_id or not message_id.strip().strip("<>").strip():
                continue
            key = self.message_ids.get(normalize_message_id(message_id))
            if key is not None and key in self.issues:
                return self.issues[key].issue
        return None

    def find_issue_by_foreign_key(
        self, field_name: str, value: str, project_key: str | None = None
    ) -> TrackerIssue | None:
        if project_key:
            self.get_project(project_key)
        found = [
            s.issue
            for s in self.issues.values()
            if str(s.issue.custom_fields.get(field_name)) == str(value)
            and (not project_key or s.issue.project_key == project_key.upper())
            and field_name in s.issue.custom_fields
        ]
        return found[-1] if found else None  # the most recently created

    # -- creating -------------------------------------------------------------------------------------
    def create_issue(
        self, new: NewIssue, *, idempotency_key: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        if idempotency_key and f"issue:{idempotency_key}" in self.by_idempotency_key:
            return self.issues[self.by_idempotency_key[f"issue:{idempotency_key}"]].issue
        self._act(actor)
        project = self.get_project(new.project_key)
        summary = " ".join(new.summary.split())[:255]
        if not summary:
            raise errors.InvalidFieldValue("an issue needs a summary")
        try:
            issue_type = canonical(new.issue_type or project.default_issue_type, IssueType, "issue type")
            priority = canonical(new.priority or project.default_priority, Priority, "priority")
        except ValueError as exc:
            raise errors.InvalidFieldValue(str(exc)) from exc
        watchers = tuple({w: self._user(w, "watcher") for w in new.watchers}.values())
        reporter = self._user(new.reporter, "reporter") if new.reporter else None
        assignee = self._user(new.assignee, "assignee") if new.assignee else None
        sender = _addresses([new.email_sender_address])
        participants = _addresses(new.email_participants)
        custom_fields = self._json(new.custom_fields)
        message_ids = [self._message_id(m) for m in new.message_ids]
        number = self.numbers[project.key] = self.numbers.get(project.key, 0) + 1
        issue = TrackerIssue(
            key=f"{project.key}-{number}",
            project_key=project.key,
            summary=summary,
            description=new.description,
            issue_type=issue_type,
            priority=priority,
            status=Status.OPEN,
            resolution="",
            resolved_at=None,
            created_at=self.now,
            updated_at=self.now,
            reporter=reporter,
            assignee=assignee,
            labels=_labels(new.labels),
            watchers=watchers,
            email_sender_address=sender[0] if sender else "",
            email_sender_name=new.email_sender_name.strip(),
            email_participants=participants,
            custom_fields=custom_fields,
        )
        self.issues[issue.key] = _Stored(issue)
        for message_id in message_ids:
            self.message_ids[message_id] = issue.key
        if idempotency_key:
            self.by_idempotency_key[f"issue:{idempotency_key}"] = issue.key
        self.calls.append(f"create_issue {issue.key}")
        return issue

    def add_comment(self, issue_key: str, comment: NewComment, *, idempotency_key: str | None = None) -> TrackerComment:
        if idempotency_key and f"comment:{idempotency_key}" in self.by_idempotency_key:
            wanted = self.by_idempotency_key[f"comment:{idempotency_key}"]
            return next(c for s in self.issues.values() for c in s.comments if c.id == wanted)
        stored = self._stored(issue_key)
        if not comment.body.strip():
            raise errors.InvalidFieldValue("a comment needs a body")
        author = self._user(comment.author, "comment author") if comment.author else None
        if author is None and comment.author_email:
            _addresses([comment.author_email])
        made = TrackerComment(
            id=str(sum(len(s.comments) for s in self.issues.values()) + 1),
            issue_key=stored.issue.key,
            body=comment.body,
            author=author,
            author_email="" if author else comment.author_email.strip(),
            author_name="" if author else comment.author_name.strip(),
            created_at=self.now,
            source_message_id=comment.source_message_id,
        )
        stored.comments.append(made)
        for message_id in comment.message_ids:
            self.message_ids[normalize_message_id(message_id)] = stored.issue.key
        if idempotency_key:
            self.by_idempotency_key[f"comment:{idempotency_key}"] = made.id
        self.calls.append(f"add_comment {stored.issue.key}")
        return made

    def list_comments(self, issue_key: str) -> list[TrackerComment]:
        return list(self._stored(issue_key).comments)

    def count_mail_comments(
        self, issue_key: str, *, since: datetime, excluding_message: int | None = None
    ) -> tuple[int, int]:
        return mail_comment_counts(self.list_comments(issue_key), since, excluding_message)

    def add_attachments(
        self,
        issue_key: str,
        uploads: Iterable[AttachmentUpload],
        *,
        comment_id: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> list[TrackerAttachment]:
        self._act(actor)
        stored = self._stored(issue_key)
        if comment_id is not None and not any(c.id == comment_id for c in stored.comments):
            raise errors.NotFound(f"{stored.issue.key} has no comment {comment_id}")
        attached = []
        for upload in uploads:
            data = upload.data
            if data is None:
                assert upload.file is not None  # an upload has exactly one of data= and file=
                data = upload.file.read()
            sha256 = hashlib.sha256(data).hexdigest()
            if upload.sha256 is not None and upload.sha256 != sha256:
                raise errors.InvalidFieldValue("the attachment's SHA-256 does not match its content")
            earlier = next(
                (
                    a
                    for a, _, key in stored.attachments
                    if idempotency_key and key == idempotency_key and a.sha256 == sha256
                ),
                None,
            )
            if earlier is not None:
                attached.append(earlier)
                continue
            attachment = TrackerAttachment(
                id=str(sum(len(s.attachments) for s in self.issues.values()) + 1),
                issue_key=stored.issue.key,
                filename=upload.filename,
                content_type=upload.content_type,
                size=len(data),
                sha256=sha256,
                comment_id=comment_id,
                created_at=self.now,
            )
            stored.attachments.append((attachment, data, idempotency_key))
            attached.append(attachment)
        self.calls.append(f"add_attachments {stored.issue.key} {len(attached)}")
        return attached

    def list_attachments(self, issue_key: str) -> list[TrackerAttachment]:
        return [a for a, _, _ in self._stored(issue_key).attachments]

    def attachment_hashes(self, issue_key: str) -> frozenset[str]:
        return frozenset(a.sha256 for a, _, _ in self._stored(issue_key).attachments)

    def read_attachment(self, issue_key: str, attachment_id: str) -> bytes:
        for attachment, data, _ in self._stored(issue_key).attachments:
            if attachment.id == attachment_id:
                return data
        raise errors.NotFound(f"{issue_key} has no attachment {attachment_id}")

    @staticmethod
    def _message_id(message_id: str, kind: str = "inbound") -> str:
        if kind not in {"inbound", "outbound"}:
            raise errors.InvalidFieldValue(f"unknown Message-ID kind {kind!r}")
        if not message_id.strip().strip("<>").strip():
            raise errors.InvalidFieldValue("an empty Message-ID")
        return normalize_message_id(message_id)

    def record_message_id(self, issue_key: str, message_id: str, *, kind: str = "outbound") -> None:
        self.record_message_ids(issue_key, [message_id], kind=kind)

    def record_message_ids(self, issue_key: str, message_ids: Sequence[str], *, kind: str = "outbound") -> None:
        key = self._stored(issue_key).issue.key
        checked = [self._message_id(m, kind) for m in message_ids]  # all or nothing
        for message_id in checked:
            self.message_ids[message_id] = key

    # -- changing -------------------------------------------------------------------------------------
    def _change(self, issue_key: str, **values: Any) -> TrackerIssue:
        stored = self._stored(issue_key)
        stored.issue = replace(stored.issue, updated_at=self.now, **values)
        return stored.issue

    def update_issue(self, issue_key: str, update: IssueUpdate, *, actor: Actor | None = None) -> TrackerIssue:
        self._act(actor)
        issue = self._stored(issue_key).issue
        values: dict[str, Any] = {}
        if update.summary is not None:
            values["summary"] = " ".join(update.summary.split())[:255]
            if not values["summary"]:
                raise errors.InvalidFieldValue("the summary cannot be empty")
        if update.description is not None:
            values["description"] = update.description
        try:
            if update.issue_type is not None:
                values["issue_type"] = canonical(update.issue_type, IssueType, "issue type")
            if update.priority is not None:
                values["priority"] = canonical(update.priority, Priority, "priority")
        except ValueError as exc:
            raise errors.InvalidFieldValue(str(exc)) from exc
        if not isinstance(update.assignee, _Unset):
            values["assignee"] = self._user(update.assignee, "assignee") if update.assignee else None
        if update.email_sender_address is not None:
            sender = _addresses([update.email_sender_address])
            values["email_sender_address"] = sender[0] if sender else ""
        if update.email_sender_name is not None:
            values["email_sender_name"] = update.email_sender_name.strip()
        labels = list(update.labels) if update.labels is not None else list(issue.labels)
        removed = set(_labels(update.remove_labels))
        values["labels"] = tuple(label for label in _labels([*labels, *update.add_labels]) if label not in removed)
        watchers = {w.account_id: w for w in issue.watchers}
        watchers.update({w: self._user(w, "watcher") for w in update.add_watchers})
        for account_id in update.remove_watchers:
            watchers.pop(account_id, None)
        values["watchers"] = tuple(watchers.values())
        self.calls.append(f"update_issue {issue.key}")
        return self._change(issue_key, **values)

    def list_transitions(self, issue_key: str) -> list[Transition]:
        status = self._stored(issue_key).issue.status
        return [Transition(id=t.id, name=t.name, to_status=t.target) for t in transitions_from(status)]

    def transition_issue(
        self, issue_key: str, to_status: str, *, resolution: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        self._act(actor)
        issue = self._stored(issue_key).issue
        try:
            chosen = canonical(resolution, Resolution, "resolution") if resolution else None
        except ValueError as exc:
            raise errors.InvalidFieldValue(str(exc)) from exc
        transition = find_transition(issue.status, to_status)
        if transition is None:
            raise errors.InvalidTransition(f"{issue.key} cannot move from {issue.status} to {to_status}")
        state = resolution_after(
            issue.status, transition.target, ResolutionState(issue.resolution, issue.resolved_at), self.now, chosen
        )
        self.calls.append(f"transition_issue {issue.key} {transition.target}")
        return self._change(
            issue_key, status=transition.target, resolution=state.resolution, resolved_at=state.resolved_at
        )

    def get_participants(self, issue_key: str) -> tuple[str, ...]:
        return self._stored(issue_key).issue.email_participants

    def add_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        self._act(actor)
        current = self._stored(issue_key).issue.email_participants
        self.calls.append(f"add_participants {issue_key}")
        return self._change(issue_key, email_participants=_addresses([*current, *addresses])).email_participants

    def set_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        self._act(actor)
        return self._change(issue_key, email_participants=_addresses(addresses)).email_participants

    def get_custom_fields(self, issue_key: str) -> dict[str, Any]:
        return dict(self._stored(issue_key).issue.custom_fields)

    def update_custom_fields(
        self, issue_key: str, values: Mapping[str, Any], *, actor: Actor | None = None
    ) -> TrackerIssue:
        self._act(actor)
        fields = self.get_custom_fields(issue_key)
        changes = self._json({name: value for name, value in values.items() if value is not None})
        for name, value in values.items():
            if value is None:
                fields.pop(name, None)
        fields.update(changes)
        return self._change(issue_key, custom_fields=fields)

    # -- a data subject ---------------------------------------------------------------------------------------------
    def _subject(self, address: str) -> tuple[list[_Stored], list[_Stored], list[tuple[_Stored, TrackerComment]]]:
        wanted = address.strip().lower()
        stores = list(self.issues.values())
        reported = [s for s in stores if s.issue.email_sender_address.strip().lower() == wanted and wanted]
        participating = [s for s in stores if wanted in (a.strip().lower() for a in s.issue.email_participants)]
        comments = [(s, c) for s in stores for c in s.comments if wanted and c.author_email.strip().lower() == wanted]
        return reported, participating, comments

    def find_subject(self, address: str, *, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
        reported, participating, comments = self._subject(address)
        return SubjectHoldings(
            reported=tuple(s.issue for s in reported),
            participating=tuple(s.issue for s in participating),
            comments=tuple(c for _, c in comments),
        )

    def erase_subject(
        self, address: str, *, issue_keys: Sequence[str] = (), redact_texts: bool = False
    ) -> SubjectErasure:
        reported, participating, comments = self._subject(address)
        counts = dict.fromkeys(SubjectErasure().as_counts(), 0)
        wanted = address.strip().lower()
        for s in reported:
            values: dict[str, Any] = {"email_sender_address": "", "email_sender_name": ""}
            if redact_texts:
                values.update(summary=REDACTED_TEXT, description="")
                counts["texts_redacted"] += 1
                before = len(s.attachments)
                s.attachments = [a for a in s.attachments if a[0].comment_id is not None]
                counts["attachments_removed"] += before - len(s.attachments)
            s.issue = replace(s.issue, **values)
            counts["reporter_fields_cleared"] += 1
        for s in participating:
            kept = tuple(a for a in s.issue.email_participants if a.strip().lower() != wanted)
            s.issue = replace(s.issue, email_participants=kept)
            counts["participants_removed"] += 1
        for s, comment in comments:
            changed = replace(comment, author_email="", author_name=ERASED_SENDER)
            if redact_texts:
                changed = replace(changed, body=REDACTED_TEXT)
                counts["texts_redacted"] += 1
                before = len(s.attachments)
                s.attachments = [a for a in s.attachments if a[0].comment_id != comment.id]
                counts["attachments_removed"] += before - len(s.attachments)
            s.comments = [changed if c.id == comment.id else c for c in s.comments]
            counts["comment_authors_replaced"] += 1
        keys = {k.strip().upper() for k in issue_keys}
        touched = {id(s) for s in (*reported, *participating)} | {id(s) for s, _ in comments}
        for s in self.issues.values():
            if id(s) not in touched and s.issue.key.upper() not in keys:
                continue
            if mentions(s.issue.summary, address) or mentions(s.issue.description, address):
                s.issue = replace(
                    s.issue,
                    summary=without_address(s.issue.summary, address),
                    description=without_address(s.issue.description, address),
                )
                counts["mentions_removed"] += 1
            for c in list(s.comments):
                if mentions(c.body, address):
                    s.comments = [
                        replace(c, body=without_address(c.body, address)) if x.id == c.id else x for x in s.comments
                    ]
                    counts["mentions_removed"] += 1
        return SubjectErasure(**counts)
