"""Adding and editing comments on local issues."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from jemh.rows import insert_row_touching
from trackers.errors import IssueNotFound
from trackers.local.changes import SYSTEM, ChangeContext, emit
from trackers.local.services import email_hash, record_message_ids
from trackers.models import Comment, Issue, MessageIdKind
from trackers.signals import EventKind, FieldChange


def insert_comment(comment: Comment, *, message_ids: Iterable[str] = (), ctx: ChangeContext = SYSTEM) -> Comment:
    """Save a new (unsaved) comment, touch its issue's update time, and emit ``commented``."""
    # no savepoint of its own: a failure rolls back the caller's transaction, which the caller (or this) opened
    with transaction.atomic(savepoint=False):
        issue: Issue = comment.issue
        comment.instance_id = issue.instance_id
        comment.author_email_hash = email_hash(comment.author_email or "")
        # the comment, and its issue's update time (auto_now) in the same statement; touching the issue also tells
        # whether it still exists (the caller may hold it from earlier; the comment's foreign key is checked at commit)
        if not insert_row_touching(comment, issue, ["updated_at"]):
            raise IssueNotFound(f"no issue {issue.key!r}: it was deleted")
        record_message_ids(issue, message_ids, kind=MessageIdKind.INBOUND)
        emit(issue, EventKind.COMMENTED, ctx, comment_id=comment.pk)
    return comment


def edit_comment(comment: Comment, body: str, ctx: ChangeContext = SYSTEM) -> Comment:
    """Change a comment's body; emits ``updated`` with a ``comment`` change when it really changed."""
    with transaction.atomic():
        locked = Comment.objects.select_for_update().select_related("issue__project").get(pk=comment.pk)
        old = locked.body
        if old == body:
            return locked
        locked.body = body
        locked.save(update_fields=["body", "updated_at"])
        emit(locked.issue, EventKind.UPDATED, ctx, comment_id=locked.pk, changes=(FieldChange("comment", old, body),))
    return locked
