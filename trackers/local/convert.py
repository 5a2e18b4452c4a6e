"""Local models → the immutable dataclasses of the Tracker interface; users by email or account id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User  # the project keeps Django's default user model
from django.db.models.functions import Lower

from trackers.interface import TrackerAttachment, TrackerComment, TrackerIssue, TrackerProject, TrackerUser
from trackers.models import Attachment, Comment, Issue, Project
from trackers.workflow import IssueType, Priority, Status


def to_user(user: Any) -> TrackerUser | None:
    if user is None:
        return None
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return TrackerUser(
        account_id=user.get_username(),
        email=getattr(user, "email", "") or "",
        display_name=(name or "").strip() or user.get_username(),
        active=user.is_active,
    )


def find_user_by_email(email: str) -> User | None:
    """The active user with this address (case-insensitive); the oldest account if several share it."""
    address = email.strip()
    if not address:
        return None
    model = get_user_model()
    field = model.get_email_field_name()
    return model.objects.filter(**{f"{field}__iexact": address}, is_active=True).order_by("pk").first()


def find_users_by_email(emails: Iterable[str]) -> dict[str, User]:
    """find_user_by_email for several plain-ASCII addresses in one query: the users found, by lower-case address."""
    wanted = {email.strip().lower() for email in emails if email.strip() and email.isascii()}
    if not wanted:
        return {}
    model = get_user_model()
    field = model.get_email_field_name()
    found: dict[str, User] = {}
    for user in (
        model.objects.annotate(_address=Lower(field)).filter(_address__in=wanted, is_active=True).order_by("-pk")
    ):
        found[user._address] = user  # the oldest account wins (iterated last)
    return found


def find_user(account_id: str) -> User | None:
    model = get_user_model()
    return model.objects.filter(**{model.USERNAME_FIELD: account_id}).first()


def to_project(project: Project) -> TrackerProject:
    return TrackerProject(
        key=project.key,
        name=project.name,
        lead=to_user(project.lead),
        default_issue_type=project.default_issue_type,
        default_priority=project.default_priority,
        issue_types=tuple(IssueType.values),
        priorities=tuple(Priority.values),
        statuses=tuple(Status.values),
    )


def to_issue(issue: Issue, watchers: Iterable[Any] | None = None) -> TrackerIssue:
    """The issue as the Tracker interface shows it; ``watchers`` (ordered by pk) when the caller has them."""
    if watchers is None:
        watchers = issue.watchers.order_by("pk")
    return TrackerIssue(
        key=issue.key,
        project_key=issue.project.key,
        summary=issue.summary,
        description=issue.description,
        issue_type=str(issue.issue_type),
        priority=str(issue.priority),
        status=str(issue.status),
        resolution=str(issue.resolution),
        resolved_at=issue.resolved_at,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
        reporter=to_user(issue.reporter),
        assignee=to_user(issue.assignee),
        labels=tuple(issue.labels or ()),
        watchers=tuple(to_user(u) for u in watchers),  # type: ignore[misc]  # to_user of a user is never None
        email_sender_address=issue.email_sender_address or "",
        email_sender_name=issue.email_sender_name or "",
        email_participants=tuple(issue.email_participants or ()),
        custom_fields=dict(issue.custom_fields or {}),
    )


def to_comment(comment: Comment) -> TrackerComment:
    return TrackerComment(
        id=str(comment.pk),
        issue_key=comment.issue.key,
        body=comment.body,
        author=to_user(comment.author),
        author_email=comment.author_email or "",
        author_name=comment.author_name or "",
        created_at=comment.created_at,
        source_message_id=comment.source_message_id,
    )


def to_attachment(attachment: Attachment) -> TrackerAttachment:
    return TrackerAttachment(
        id=str(attachment.pk),
        issue_key=attachment.issue.key,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        comment_id=str(attachment.comment_id) if attachment.comment_id else None,
        created_at=attachment.created_at,
    )
