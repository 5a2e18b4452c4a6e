"""LocalTracker: the Tracker interface on the local models, for one Instance."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User  # the project keeps Django's default user model (as convert)
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from jemh.models import Instance
from jemh.rows import model_columns, model_from_row
from jemh.stages import timed
from trackers import errors
from trackers.interface import (
    PROJECT_PERMISSIONS,
    Actor,
    AttachmentUpload,
    IssueUpdate,
    NewComment,
    NewIssue,
    Permission,
    SubjectErasure,
    SubjectHoldings,
    TrackerAttachment,
    TrackerComment,
    TrackerIssue,
    TrackerProject,
    TrackerUser,
    Transition,
    _Unset,
)
from trackers.local import attachments as attachment_services
from trackers.local import comments as comment_services
from trackers.local import convert, services, subject
from trackers.local.changes import ChangeContext
from trackers.models import Attachment, Comment, Issue, IssueMessageId, MessageIdKind, Project
from trackers.workflow import IssueType, Priority, Resolution, canonical, transitions_from

F = TypeVar("F", bound=Callable[..., Any])

# The users an issue names (reporter, assignee, watchers), as far as the Tracker interface shows them (to_user):
# brought by the issue's look-up by Message-ID, as model instances whose other fields are deferred.
_USER_FIELDS = tuple(  # in the model's field order, as Model.from_db takes them
    f.attname
    for f in User._meta.concrete_fields
    if f.attname in {"id", "username", "email", "first_name", "last_name", "is_active"}
)
_USER_TABLE = User._meta.db_table
# find_issue_by_message_ids: of the issues recorded with the given hashes, the one the best-ranked hash names (hash
# i has rank i), recorded with it last; with its project's key, its watchers' ids and its number of comments.
# ``= ANY`` keeps the look-up on the (instance, hash) index whatever the table's statistics say.
_ISSUE_BY_MESSAGE_ID = f"""
SELECT {model_columns(Issue, "i")}, p.key AS _project_key,
    ARRAY(SELECT w.user_id FROM {Issue.watchers.through._meta.db_table} w WHERE w.issue_id = i.id ORDER BY w.user_id)
        AS _watcher_ids,
    (SELECT count(*) FROM {Comment._meta.db_table} c WHERE c.issue_id = i.id) AS _comment_count,
    (SELECT coalesce(json_agg(json_build_object({", ".join(f"'{f}', u.{f}" for f in _USER_FIELDS)})), '[]')
        FROM {_USER_TABLE} u
        WHERE u.id = i.reporter_id OR u.id = i.assignee_id
            OR u.id IN (SELECT w.user_id FROM {Issue.watchers.through._meta.db_table} w WHERE w.issue_id = i.id)
    )::text AS _users
FROM {IssueMessageId._meta.db_table} m
JOIN {Issue._meta.db_table} i ON i.id = m.issue_id
JOIN {Project._meta.db_table} p ON p.id = i.project_id
WHERE m.instance_id = %(instance)s AND m.message_id_hash = ANY(%(hashes)s::varchar[])
ORDER BY (%(ranks)s::int[])[array_position(%(hashes)s::varchar[], m.message_id_hash)], m.created_at DESC, m.id DESC
LIMIT 1
"""

# the admin), the same in every project of the instance; a project's lead and superusers hold them all.
DJANGO_PERMISSIONS: dict[str, str] = {
    Permission.BROWSE_PROJECTS: "trackers.view_issue",
    Permission.CREATE_ISSUES: "trackers.add_issue",
    Permission.ADD_COMMENTS: "trackers.add_comment",
    Permission.EDIT_ISSUES: "trackers.change_issue",
    Permission.ASSIGN_ISSUES: "trackers.change_issue",
    Permission.MODIFY_REPORTER: "trackers.change_issue",
    Permission.MANAGE_WATCHERS: "trackers.change_issue",
    Permission.SET_ISSUE_SECURITY: "trackers.change_issue",
}


def permissions_in_project(user: Any, project: Project, permissions: Iterable[str]) -> frozenset[str]:
    """Those of ``permissions`` the user (a Django user, or None) holds in the local project."""
    wanted = frozenset(permissions) & PROJECT_PERMISSIONS
    if user is None or not user.is_active:
        return frozenset()
    if user.is_superuser or (project.lead_id is not None and project.lead_id == user.pk):
        return wanted
    return frozenset(name for name in wanted if user.has_perm(DJANGO_PERMISSIONS[name]))


def _is_temporary(exc: OperationalError) -> bool:
    """PostgreSQL's OperationalErrors are connection trouble, deadlocks and serialization failures; SQLite's
    also cover mistakes in SQL, so only its lock errors count as temporary there."""
    if connection.vendor != "sqlite":
        return True
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _translating_errors(method: F) -> F:
    """Database trouble (down, locked, deadlock, serialization failure) becomes TemporaryTrackerError."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except OperationalError as exc:
            if not _is_temporary(exc):
                raise
            raise errors.TemporaryTrackerError(
                f"the local tracker's database is unavailable or busy ({type(exc).__name__}); try again later"
            ) from exc

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature of F


def _row_id(value: str) -> int:
    """The row id an interface id (a string) names; an id that cannot name a row (not a number) gives 0: no row."""
    return int(value) if value.strip().isdecimal() and value.isascii() else 0


class LocalTracker:
    """The built-in tracker of one instance. Thread-safe; cheap to create."""

    kind = "local"

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        # Projects and users looked up by this tracker object. One is made per unit of work (a processed message,
        # or a small group of them processed together), so a project or user changed in the admin is seen by the
        # next unit of work.
        self._projects: dict[str, Project] = {}
        self._users: dict[str, Any] = {}
        self._users_by_email: dict[str, Any] = {}
        # Issues this object created: attaching files to one right after creating it needs no second look-up
        # (attaching reads only what cannot change: its id, key, number and project).
        self._created: dict[str, Issue] = {}
        # (id, instance id) of issues looked up by key: recording Message-IDs with an issue needs nothing else.
        self._issue_refs: dict[str, tuple[int, int]] = {}
        # Issues looked up in this unit of work, for writes that read only what cannot change (id, key, instance,
        # project): a reply's comment goes onto the issue association just found, without reading it again.
        self._looked_up: dict[str, Issue] = {}
        # comments this unit of work added (by id): attachments to one need no look-up
        self._added_comments: dict[str, Comment] = {}

    # -- look-ups -----------------------------------------------------------------------------------
    def _project(self, key: str) -> Project:
        wanted = key.strip().upper()
        if wanted in self._projects:
            return self._projects[wanted]
        projects = Project.objects.select_related("lead")  # to_project reads the lead
        project = projects.filter(instance=self.instance, key=wanted).first()
        if project is None:
            raise errors.ProjectNotFound(
                f"no project {key!r} in the local tracker of {self.instance}; "
                "create it in the admin or fix the project mapping"
            )
        self._projects[wanted] = project
        return project

    def _issue(self, key: str) -> Issue:
        issues = Issue.objects.select_related("project", "reporter", "assignee")
        issue = issues.filter(instance=self.instance, key=key.strip().upper()).first()
        if issue is None:
            raise errors.IssueNotFound(f"no issue {key!r} in the local tracker of {self.instance}")
        self._remember(issue)
        return issue

    def _remember(self, issue: Issue) -> None:
        self._issue_refs[issue.key] = (issue.pk, issue.instance_id)
        self._looked_up[issue.key] = issue

    def _issue_to_write(self, key: str) -> Issue:
        """The issue, as created or looked up earlier in this unit of work (id, key, number, instance and project only
        are read from it), else read now. The write must find out itself that the issue is gone since (see
        ``insert_comment``): inside a caller's transaction the foreign key is checked only at its commit."""
        wanted = key.strip().upper()
        return self._created.get(wanted) or self._looked_up.get(wanted) or self._issue(key)

    def _refuse_if_gone(self, issue: Issue, key: str) -> None:
        """IssueNotFound when the issue was deleted since this unit of work looked it up (a write onto it failed)."""
        if not Issue.objects.filter(pk=issue.pk).exists():
            raise errors.IssueNotFound(f"no issue {key!r} in the local tracker of {self.instance}") from None

    def _issue_ref(self, key: str) -> tuple[int, int]:
        """(id, instance id) of the issue: remembered from an earlier look-up in this unit of work, else read."""
        wanted = key.strip().upper()
        if wanted not in self._issue_refs:
            ref = Issue.objects.filter(instance=self.instance, key=wanted).values_list("pk", "instance_id").first()
            if ref is None:
                raise errors.IssueNotFound(f"no issue {key!r} in the local tracker of {self.instance}")
            self._issue_refs[wanted] = ref
        return self._issue_refs[wanted]

    def _user(self, account_id: str, role: str, inactive: type[errors.TrackerError] = errors.InvalidFieldValue) -> Any:
        """The active user with ``account_id`` (memoised for this unit of work); an inactive one raises ``inactive``."""
        if account_id not in self._users:
            self._users[account_id] = convert.find_user(account_id)
        user = self._users[account_id]
        if user is None:
            raise errors.UserNotFound(f"{role}: no user with the account id {account_id!r}")
        if not user.is_active:
            raise inactive(f"{role}: the account {account_id!r} is inactive")
        return user

    def _context(self, actor: Actor | None, source_message_id: int | None = None) -> ChangeContext:
        if actor is None:
            return ChangeContext(source_message_id=source_message_id)
        # an inactive account may not act (errors.PermissionDenied); as a field value it is InvalidFieldValue
        user_id = self._user(actor.account_id, "actor", errors.PermissionDenied).pk if actor.account_id else None
        return ChangeContext(
            actor_user_id=user_id,
            actor_email=actor.email or None,
            source_message_id=source_message_id,
            actor_automated=actor.automated,
            acknowledge_to=actor.acknowledge_to,
        )

    # -- projects and users -------------------------------------------------------------------------
    @_translating_errors
    def get_project(self, project_key: str) -> TrackerProject:
        return convert.to_project(self._project(project_key))

    @_translating_errors
    def project_keys(self) -> tuple[str, ...]:
        return tuple(Project.objects.filter(instance=self.instance).order_by("key").values_list("key", flat=True))

    @_translating_errors
    def find_user_by_email(self, email: str) -> TrackerUser | None:
        wanted = email.strip().lower()
        if wanted not in self._users_by_email:
            self._users_by_email[wanted] = convert.find_user_by_email(email)
        return convert.to_user(self._users_by_email[wanted])

    @_translating_errors
    def find_users_by_email(self, emails: Sequence[str]) -> dict[str, TrackerUser | None]:
        unknown = {e.strip().lower() for e in emails if e.strip() and e.isascii()} - self._users_by_email.keys()
        if unknown:
            found = convert.find_users_by_email(unknown)
            for address in unknown:
                self._users_by_email[address] = found.get(address)
        return {email: self.find_user_by_email(email) for email in emails}

    def user_lookup_note(self, email: str) -> str:
        return ""  # an address is either on an account here or not: nothing more to say

    @_translating_errors
    def get_user(self, account_id: str) -> TrackerUser | None:
        return convert.to_user(convert.find_user(account_id))

    @_translating_errors
    def project_permissions(self, account_id: str, project_key: str, permissions: Iterable[str]) -> frozenset[str]:
        project = self._project(project_key)
        return permissions_in_project(convert.find_user(account_id), project, permissions)

    # -- finding issues -----------------------------------------------------------------------------
    @_translating_errors
    def find_issue(self, key: str) -> TrackerIssue | None:
        try:
            return convert.to_issue(self._issue(key))
        except errors.IssueNotFound:
            return None

    @_translating_errors
    def find_issues(self, keys: Sequence[str]) -> dict[str, TrackerIssue]:
        wanted = {key.strip().upper(): key for key in keys if key.strip()}
        found = (
            Issue.objects.select_related("project", "reporter", "assignee")
            .prefetch_related("watchers")
            .filter(instance=self.instance, key__in=list(wanted))
        )
        issues: dict[str, TrackerIssue] = {}
        for issue in found:
            self._issue_refs[issue.key] = (issue.pk, issue.instance_id)
            watchers = sorted(issue.watchers.all(), key=lambda user: user.pk)
            issues[wanted[issue.key]] = convert.to_issue(issue, watchers=watchers)
        return issues

    @_translating_errors
    def get_issue(self, key: str) -> TrackerIssue:
        return convert.to_issue(self._issue(key))

    @_translating_errors
    def find_issue_by_message_ids(self, message_ids: Sequence[str]) -> TrackerIssue | None:
        # The first Message-ID (in the given order) that names an issue wins, and of the issues one Message-ID
        # names, the one it was recorded with last. Every mail with references asks this, so it is one statement
        # of a fixed shape (no ORM query to compile) that also brings the project's key, the watchers and the
        # number of comments (the loop limits need no count of their own while an issue is below its caps) and
        # the users it names.
        hashes: list[str] = []
        ranks: list[int] = []
        for index, message_id in enumerate(message_ids):
            if not message_id or not message_id.strip().strip("<>").strip():
                continue
            for candidate in services.message_id_hashes(message_id):
                if candidate not in hashes:  # a hash keeps its best rank
                    hashes.append(candidate)
                    ranks.append(index)
        if not hashes:
            return None
        if connection.vendor != "postgresql":  # the statement is PostgreSQL's (arrays); SQLite: the embedded default
            return self._find_by_hashes_portably(hashes, ranks)
        with connection.cursor() as cursor:
            cursor.execute(_ISSUE_BY_MESSAGE_ID, {"instance": self.instance.pk, "hashes": hashes, "ranks": ranks})
            row = cursor.fetchone()
        if row is None:
            return None
        issue = model_from_row(Issue, row, connection.alias)
        project_key, watcher_ids, comment_count, named_users = row[-4:]  # the statement's own columns
        issue.project = self._project(project_key)
        users = {
            user["id"]: User.from_db(connection.alias, list(_USER_FIELDS), [user[f] for f in _USER_FIELDS])
            for user in json.loads(named_users)
        }
        issue.reporter = users.get(issue.reporter_id) if issue.reporter_id is not None else None
        issue.assignee = users.get(issue.assignee_id) if issue.assignee_id is not None else None
        watchers = [users[pk] for pk in watcher_ids if pk in users]
        self._remember(issue)
        return dataclasses.replace(convert.to_issue(issue, watchers=watchers), comment_count=comment_count)

    def _find_by_hashes_portably(self, hashes: list[str], ranks: list[int]) -> TrackerIssue | None:
        """find_issue_by_message_ids through the ORM, on any database: the same issue, in a few more queries."""
        rank = dict(zip(hashes, ranks, strict=True))
        rows = (
            IssueMessageId.objects.filter(instance=self.instance, message_id_hash__in=hashes)
            .select_related("issue__project", "issue__reporter", "issue__assignee")
            .defer("message_id")  # encrypted, and not needed: the hash says which one matched
            .order_by("-created_at", "-pk")
        )
        best = min(rows, key=lambda row: rank[row.message_id_hash], default=None)  # min keeps the first of equals
        if best is None:
            return None
        issue = best.issue
        self._remember(issue)
        watchers = sorted(issue.watchers.all(), key=lambda user: user.pk)
        return dataclasses.replace(convert.to_issue(issue, watchers=watchers), comment_count=issue.comments.count())

    @_translating_errors
    def find_issue_by_foreign_key(
        self, field_name: str, value: str, project_key: str | None = None
    ) -> TrackerIssue | None:
        issues = Issue.objects.filter(instance=self.instance)
        if project_key:
            issues = issues.filter(project=self._project(project_key))
        found = (
            issues.annotate(_foreign=Cast(KeyTextTransform(field_name, "custom_fields"), TextField()))
            .filter(_foreign=str(value))
            .select_related("project")
            .order_by("-created_at", "-pk")
            .first()
        )
        return convert.to_issue(found) if found else None

    # -- creating -----------------------------------------------------------------------------------
    def _existing_issue(self, idempotency_key: str | None) -> Issue | None:
        if not idempotency_key:
            return None
        return Issue.objects.filter(instance=self.instance, idempotency_key=idempotency_key).first()

    @_translating_errors
    @timed("tracker writes")
    def create_issue(
        self, new: NewIssue, *, idempotency_key: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        # No look-up first: the idempotency key is unique, so a second run fails to insert and finds the first
        # run's issue then (the rolled-back transaction takes no issue number).
        project = self._project(new.project_key)
        summary = " ".join(new.summary.split())[:255]
        if not summary:
            raise errors.InvalidFieldValue("an issue needs a summary; set a default summary in the project mapping")
        reporter = self._user(new.reporter, "reporter") if new.reporter else None
        if actor is None:
            actor = (
                Actor.user(new.reporter)
                if new.reporter
                else Actor.email_only(new.email_sender_address, new.email_sender_name)
                if new.email_sender_address
                else None
            )
        issue = Issue(
            project=project,
            summary=summary,
            description=new.description,
            issue_type=self._choice(new.issue_type or project.default_issue_type, IssueType, "issue type"),
            priority=self._choice(new.priority or project.default_priority, Priority, "priority"),
            reporter=reporter,
            assignee=self._user(new.assignee, "assignee") if new.assignee else None,
            labels=list(new.labels),
            email_sender_address=new.email_sender_address.strip(),
            email_sender_name=new.email_sender_name.strip(),
            email_participants=services.clean_addresses(new.email_participants),
            custom_fields=self._json(dict(new.custom_fields)),
            source_message_id=new.source_message_id,
            idempotency_key=idempotency_key or None,
        )
        if issue.email_sender_address:
            services.clean_addresses([issue.email_sender_address])
        watchers = list({w.pk: w for w in (self._user(w, "watcher") for w in new.watchers)}.values())
        try:
            with transaction.atomic():
                services.insert_issue(
                    issue,
                    watchers=watchers,
                    message_ids=new.message_ids,
                    ctx=self._context(actor, new.source_message_id),
                )
        except IntegrityError:
            existing = self._existing_issue(idempotency_key)
            if existing is None:
                raise
            return convert.to_issue(existing)
        self._created[issue.key] = issue
        # as saved: project, reporter, assignee and watchers are already known
        return convert.to_issue(issue, watchers=sorted(watchers, key=lambda user: user.pk))

    @staticmethod
    def _choice(value: str, choices: Any, what: str) -> str:
        try:
            return canonical(value, choices, what)
        except ValueError as exc:
            raise errors.InvalidFieldValue(str(exc)) from exc

    @staticmethod
    def _json(values: dict[str, Any]) -> dict[str, Any]:
        try:
            return json.loads(json.dumps(values, cls=DjangoJSONEncoder))
        except (TypeError, ValueError) as exc:
            raise errors.InvalidFieldValue(f"custom field values must be JSON (text, numbers, lists): {exc}") from exc

    @_translating_errors
    @timed("tracker writes")
    def add_comment(self, issue_key: str, comment: NewComment, *, idempotency_key: str | None = None) -> TrackerComment:
        # No look-up first (as for issues): the idempotency key is unique, so a second run fails to insert and
        # returns the first run's comment then.
        issue = self._issue_to_write(issue_key)
        if not comment.body.strip():
            raise errors.InvalidFieldValue("a comment needs a body")
        author = self._user(comment.author, "comment author") if comment.author else None
        if author is None and comment.author_email:
            services.clean_addresses([comment.author_email])
        actor = (
            Actor.user(comment.author)
            if comment.author
            else Actor.email_only(comment.author_email)
            if comment.author_email
            else None
        )
        row = Comment(
            issue=issue,
            author=author,
            author_email=comment.author_email.strip() if not author else "",
            author_name=comment.author_name.strip() if not author else "",
            body=comment.body,
            source_message_id=comment.source_message_id,
            idempotency_key=idempotency_key or None,
        )
        try:
            with transaction.atomic():
                comment_services.insert_comment(
                    row, message_ids=comment.message_ids, ctx=self._context(actor, comment.source_message_id)
                )
        except IntegrityError:
            existing = (
                Comment.objects.filter(instance=self.instance, idempotency_key=idempotency_key).first()
                if idempotency_key
                else None
            )
            if existing is not None:
                return convert.to_comment(existing)
            self._refuse_if_gone(issue, issue_key)
            raise
        self._added_comments[str(row.pk)] = row
        return convert.to_comment(row)

    @_translating_errors
    def list_comments(self, issue_key: str) -> list[TrackerComment]:
        issue = self._issue(issue_key)
        return [convert.to_comment(c) for c in issue.comments.select_related("author", "issue")]

    @_translating_errors
    def count_mail_comments(
        self, issue_key: str, *, since: datetime, excluding_message: int | None = None
    ) -> tuple[int, int]:
        issue_id, _ = self._issue_ref(issue_key)
        comments = Comment.objects.filter(issue_id=issue_id, source_message_id__isnull=False)
        if excluding_message is not None:
            comments = comments.exclude(source_message_id=excluding_message)
        counted = comments.aggregate(total=Count("pk"), recent=Count("pk", filter=Q(created_at__gte=since)))
        return int(counted["total"]), int(counted["recent"])

    @_translating_errors
    @timed("tracker writes")
    def add_attachments(
        self,
        issue_key: str,
        uploads: Iterable[AttachmentUpload],
        *,
        comment_id: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> list[TrackerAttachment]:
        issue = self._issue_to_write(issue_key)
        issue.instance = self.instance  # (the blob's storage is the instance's)
        comment = None
        if comment_id is not None:
            comment = self._added_comments.get(comment_id)
            if comment is None or comment.issue_id != issue.pk:
                comment = Comment.objects.filter(issue=issue, pk=_row_id(comment_id)).first()
            if comment is None:
                raise errors.NotFound(f"{issue.key} has no comment {comment_id}")
        try:
            stored = attachment_services.add_attachments(
                issue, list(uploads), comment=comment, idempotency_key=idempotency_key, ctx=self._context(actor)
            )
        except IntegrityError:  # the foreign keys are checked at commit: the issue may be gone since its look-up
            self._refuse_if_gone(issue, issue_key)
            raise
        return [convert.to_attachment(a) for a in stored]

    @_translating_errors
    def list_attachments(self, issue_key: str) -> list[TrackerAttachment]:
        issue = self._issue(issue_key)
        return [convert.to_attachment(a) for a in issue.attachments.select_related("issue")]

    @_translating_errors
    def attachment_hashes(self, issue_key: str) -> frozenset[str]:
        issue_id, _ = self._issue_ref(issue_key)
        return frozenset(Attachment.objects.filter(issue_id=issue_id).order_by().values_list("sha256", flat=True))

    @_translating_errors
    def read_attachment(self, issue_key: str, attachment_id: str) -> bytes:
        attachment = Attachment.objects.filter(issue=self._issue(issue_key), pk=_row_id(attachment_id)).first()
        if attachment is None:
            raise errors.NotFound(f"{issue_key} has no attachment {attachment_id}")
        return attachment_services.read_attachment(attachment)

    @_translating_errors
    @timed("tracker writes")
    def record_message_id(self, issue_key: str, message_id: str, *, kind: str = MessageIdKind.OUTBOUND) -> None:
        services.record_message_id(self._issue(issue_key), message_id, kind=kind)

    @_translating_errors
    @timed("tracker writes")
    def record_message_ids(
        self, issue_key: str, message_ids: Sequence[str], *, kind: str = MessageIdKind.OUTBOUND
    ) -> None:
        issue_id, instance_id = self._issue_ref(issue_key)
        nested = connection.in_atomic_block
        try:
            with transaction.atomic():
                services.insert_message_ids(issue_id, instance_id, message_ids, kind=kind)
                if nested:  # a savepoint: the (deferred) foreign key would be checked only when the caller commits
                    connection.check_constraints(table_names=[IssueMessageId._meta.db_table])
        except IntegrityError:  # the issue was deleted since it was looked up
            self._issue_refs.pop(issue_key.strip().upper(), None)
            raise errors.IssueNotFound(f"no issue {issue_key!r} in the local tracker of {self.instance}") from None

    # -- changing -----------------------------------------------------------------------------------
    @_translating_errors
    @timed("tracker writes")
    def update_issue(self, issue_key: str, update: IssueUpdate, *, actor: Actor | None = None) -> TrackerIssue:
        issue = self._issue(issue_key)
        values: dict[str, Any] = {}
        if update.summary is not None:
            values["summary"] = " ".join(update.summary.split())[:255]
            if not values["summary"]:
                raise errors.InvalidFieldValue("the summary cannot be empty")
        if update.description is not None:
            values["description"] = update.description
        if update.issue_type is not None:
            values["issue_type"] = self._choice(update.issue_type, IssueType, "issue type")
        if update.priority is not None:
            values["priority"] = self._choice(update.priority, Priority, "priority")
        if not isinstance(update.assignee, _Unset):
            values["assignee"] = self._user(update.assignee, "assignee") if update.assignee else None
        if update.email_sender_address is not None:
            if update.email_sender_address.strip():
                services.clean_addresses([update.email_sender_address])
            values["email_sender_address"] = update.email_sender_address.strip()
        if update.email_sender_name is not None:
            values["email_sender_name"] = update.email_sender_name.strip()
        add_watchers = [self._user(w, "watcher") for w in update.add_watchers]
        remove_watchers = [u for u in (convert.find_user(w) for w in update.remove_watchers) if u is not None]

        def mutate(locked: Issue) -> None:
            for name, value in values.items():
                setattr(locked, name, value)
            labels = list(update.labels) if update.labels is not None else list(locked.labels or [])
            labels += list(update.add_labels)
            removed = set(services.clean_labels(update.remove_labels))
            locked.labels = [label for label in services.clean_labels(labels) if label not in removed]
            if add_watchers:
                locked.watchers.add(*add_watchers)
            if remove_watchers:
                locked.watchers.remove(*remove_watchers)

        return convert.to_issue(services.change_issue(issue, mutate, self._context(actor)))

    @_translating_errors
    def list_transitions(self, issue_key: str) -> list[Transition]:
        issue = self._issue(issue_key)
        return [Transition(id=t.id, name=t.name, to_status=t.target) for t in transitions_from(issue.status)]

    @_translating_errors
    @timed("tracker writes")
    def transition_issue(
        self, issue_key: str, to_status: str, *, resolution: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        chosen = self._choice(resolution, Resolution, "resolution") if resolution else None
        issue = self._issue(issue_key)
        return convert.to_issue(
            services.transition_issue(issue, to_status, resolution=chosen, ctx=self._context(actor))
        )

    @_translating_errors
    def get_participants(self, issue_key: str) -> tuple[str, ...]:
        return tuple(self._issue(issue_key).email_participants or ())

    @_translating_errors
    @timed("tracker writes")
    def add_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        added = services.clean_addresses(addresses)

        def mutate(locked: Issue) -> None:
            locked.email_participants = services.clean_addresses([*(locked.email_participants or []), *added])

        return tuple(services.change_issue(self._issue(issue_key), mutate, self._context(actor)).email_participants)

    @_translating_errors
    @timed("tracker writes")
    def set_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        cleaned = services.clean_addresses(addresses)

        def mutate(locked: Issue) -> None:
            locked.email_participants = cleaned

        return tuple(services.change_issue(self._issue(issue_key), mutate, self._context(actor)).email_participants)

    @_translating_errors
    def get_custom_fields(self, issue_key: str) -> dict[str, Any]:
        return dict(self._issue(issue_key).custom_fields or {})

    @_translating_errors
    @timed("tracker writes")
    def update_custom_fields(
        self, issue_key: str, values: Mapping[str, Any], *, actor: Actor | None = None
    ) -> TrackerIssue:
        cleaned = self._json(dict(values))

        def mutate(locked: Issue) -> None:
            fields = dict(locked.custom_fields or {})
            for name, value in cleaned.items():
                if value is None:
                    fields.pop(name, None)
                else:
                    fields[name] = value
            locked.custom_fields = fields

        return convert.to_issue(services.change_issue(self._issue(issue_key), mutate, self._context(actor)))

    # -- a data subject ---------------------------------------------------------------------------------------------
    @_translating_errors
    def find_subject(self, address: str, *, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
        return subject.find(self.instance.pk, address, issue_keys)

    @_translating_errors
    def erase_subject(
        self, address: str, *, issue_keys: Sequence[str] = (), redact_texts: bool = False
    ) -> SubjectErasure:
        return subject.erase(self.instance.pk, address, issue_keys, redact_texts=redact_texts)
