"""Changing local issues: the one way the admin and the Tracker API both go, so every change emits an event.

Each function runs in a transaction, locks the issue row while it changes it, and emits its event inside that
transaction (recorded with the change, see :mod:`trackers.signals`; observers hear of it on commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jemh.crypto import keyed_hash, keyed_hash_candidates
from jemh.rows import insert_new_rows, insert_row
from trackers.errors import InvalidFieldValue, InvalidTransition
from trackers.interface import normalize_message_id, usable_address
from trackers.local.attachments import delete_blobs_on_commit
from trackers.local.changes import SYSTEM, ChangeContext, emit, emit_changes, snapshot
from trackers.models import Issue, IssueCounter, IssueMessageId, MessageIdKind, Project
from trackers.signals import EventKind
from trackers.workflow import ResolutionState, allowed_targets, find_transition, resolution_after


def email_hash(address: str) -> str:
    return keyed_hash(address, purpose="email") if address.strip() else ""


def message_id_hash(message_id: str) -> str:
    return keyed_hash(normalize_message_id(message_id), purpose="message-id")


def message_id_hashes(message_id: str) -> list[str]:
    """Every hash a stored row of this Message-ID may carry (rows recorded before JEMH_INDEX_KEY included)."""
    return keyed_hash_candidates(normalize_message_id(message_id), purpose="message-id")


def clean_addresses(addresses: Iterable[str]) -> list[str]:
    """Strip, drop empties, keep the first spelling of each address (compared case-insensitively)."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in addresses:
        address = raw.strip()
        if not address:
            continue
        if not usable_address(address):
            raise InvalidFieldValue(f"not an email address: {address!r}; give addresses like name@example.org")
        if address.casefold() not in seen:
            seen.add(address.casefold())
            result.append(address)
    return result


def clean_labels(labels: Iterable[str]) -> list[str]:
    """Labels have no spaces (as in Jira): inner whitespace becomes "_"; duplicates are dropped."""
    result: list[str] = []
    for raw in labels:
        label = "_".join(str(raw).split())
        if label and label not in result:
            result.append(label)
    return result


def next_issue_number(project: Project) -> int:
    """Take the project's next issue number. Call inside a transaction: the counter row stays locked until
    it commits, so concurrent workers wait for each other and never get the same number."""
    assert transaction.get_connection().in_atomic_block, "next_issue_number() needs a transaction"
    number = _increment_counter(project)
    if number is None:
        try:
            with transaction.atomic():
                IssueCounter.objects.create(project=project, last_number=0)
        except IntegrityError:
            pass  # another worker created it first
        number = _increment_counter(project)
    assert number is not None
    return number


def _increment_counter(project: Project) -> int | None:
    """One ``UPDATE ... RETURNING``: the incremented number, or None when the project has no counter yet."""
    connection = transaction.get_connection()
    qn = connection.ops.quote_name
    meta = IssueCounter._meta
    column = qn(meta.get_field("last_number").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} SET {column} = {column} + 1 WHERE {qn(meta.pk.column)} = %s "
            f"RETURNING {column}",
            [project.pk],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def insert_issue(
    issue: Issue, *, watchers: Iterable[Any] = (), message_ids: Iterable[str] = (), ctx: ChangeContext = SYSTEM
) -> Issue:
    """Save a new (unsaved) issue under the next key of its project and emit ``created``."""
    # no savepoint of its own: a failure rolls back the caller's transaction, which the caller (or this) opened
    with transaction.atomic(savepoint=False):
        issue.instance_id = issue.project.instance_id
        issue.number = next_issue_number(issue.project)
        issue.key = f"{issue.project.key}-{issue.number}"
        issue.labels = clean_labels(issue.labels or [])
        issue.email_participants = clean_addresses(issue.email_participants or [])
        issue.email_sender_address_hash = email_hash(issue.email_sender_address or "")
        insert_row(issue)
        if watchers:
            issue.watchers.set(list(watchers))
        insert_message_ids(issue.pk, issue.instance_id, message_ids, kind=MessageIdKind.INBOUND)
        emit(issue, EventKind.CREATED, ctx)
    return issue


def change_issue(issue: Issue, mutate: Callable[[Issue], None], ctx: ChangeContext = SYSTEM) -> Issue:
    """Lock the issue, apply ``mutate`` to the fresh row, save, and emit what changed."""
    with transaction.atomic():
        locked = Issue.objects.select_for_update().select_related("project").get(pk=issue.pk)
        before = snapshot(locked)
        mutate(locked)
        locked.labels = clean_labels(locked.labels or [])
        locked.email_participants = clean_addresses(locked.email_participants or [])
        locked.email_sender_address_hash = email_hash(locked.email_sender_address or "")
        locked.save()
        emit_changes(locked, before, ctx)
    return locked


def record_admin_change(issue: Issue, before: dict[str, Any], ctx: ChangeContext) -> None:
    """The admin saved ``issue`` (fields and watchers); emit what changed since ``before`` (inside the admin's
    transaction, which holds the save)."""
    with transaction.atomic(savepoint=False):
        emit_changes(issue, before, ctx)


def apply_status(issue: Issue, old_status: str, new_status: str, resolution: str | None = None) -> None:
    """Set status, resolution and resolution date for a move the workflow allows (the caller checked)."""
    state = resolution_after(
        old_status, new_status, ResolutionState(issue.resolution, issue.resolved_at), timezone.now(), resolution
    )
    issue.status = str(new_status)
    issue.resolution = str(state.resolution)
    issue.resolved_at = state.resolved_at


def check_transition(issue_key: str, status: str, wanted: str) -> str:
    """The target status of the move from ``status`` named ``wanted``; InvalidTransition if there is none."""
    if wanted.strip().casefold() == status.casefold():
        raise InvalidTransition(f"{issue_key} is already {status}")
    transition = find_transition(status, wanted)
    if transition is None:
        targets = ", ".join(allowed_targets(status)) or "nowhere"
        raise InvalidTransition(
            f"{issue_key} is {status}: it cannot move to {wanted!r}; from {status} it can move to {targets}"
        )
    return transition.target


def transition_issue(issue: Issue, wanted: str, *, resolution: str | None = None, ctx: ChangeContext = SYSTEM) -> Issue:
    def mutate(locked: Issue) -> None:
        target = check_transition(locked.key, locked.status, wanted)
        apply_status(locked, locked.status, target, resolution)

    return change_issue(issue, mutate, ctx)


def record_message_id(issue: Issue, message_id: str, *, kind: str = MessageIdKind.OUTBOUND) -> IssueMessageId:
    if kind not in MessageIdKind.values:
        raise InvalidFieldValue(f"unknown Message-ID kind {kind!r}; expected one of {MessageIdKind.values}")
    if not message_id.strip().strip("<>").strip():
        raise InvalidFieldValue("an empty Message-ID cannot be recorded")
    digest = message_id_hash(message_id)
    existing = IssueMessageId.objects.filter(issue=issue, message_id_hash__in=message_id_hashes(message_id)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return IssueMessageId.objects.create(
                instance_id=issue.instance_id,
                issue=issue,
                message_id_hash=digest,
                message_id=normalize_message_id(message_id),
                kind=kind,
            )
    except IntegrityError:
        return IssueMessageId.objects.get(issue=issue, message_id_hash=digest)


def record_message_ids(issue: Issue, message_ids: Iterable[str], *, kind: str = MessageIdKind.OUTBOUND) -> None:
    """record_message_id for several ids at once."""
    insert_message_ids(issue.pk, issue.instance_id, message_ids, kind=kind)


def insert_message_ids(issue_id: int, instance_id: int, message_ids: Iterable[str], *, kind: str) -> None:
    """One INSERT for the Message-IDs; those the issue already has are skipped by its unique constraint."""
    wanted = _wanted_message_ids(message_ids, kind)
    if wanted:
        insert_new_rows(
            [
                IssueMessageId(
                    instance_id=instance_id, issue_id=issue_id, message_id_hash=digest, message_id=value, kind=kind
                )
                for digest, value in wanted.items()
            ]
        )


def _wanted_message_ids(message_ids: Iterable[str], kind: str) -> dict[str, str]:
    """Hash → normalised Message-ID, each once; InvalidFieldValue for an unknown kind or an empty id."""
    if kind not in MessageIdKind.values:
        raise InvalidFieldValue(f"unknown Message-ID kind {kind!r}; expected one of {MessageIdKind.values}")
    wanted: dict[str, str] = {}
    for message_id in message_ids:
        if not message_id.strip().strip("<>").strip():
            raise InvalidFieldValue("an empty Message-ID cannot be recorded")
        wanted.setdefault(message_id_hash(message_id), normalize_message_id(message_id))
    return wanted


def delete_issue(issue: Issue, ctx: ChangeContext = SYSTEM) -> None:
    """Delete the issue with its comments, attachments (blobs removed after commit) and Message-IDs."""
    with transaction.atomic():
        locked = Issue.objects.select_for_update().select_related("project").get(pk=issue.pk)
        blobs = list(locked.attachments.values_list("blob_name", flat=True))
        emit(locked, EventKind.DELETED, ctx)
        locked.delete()
        delete_blobs_on_commit(blobs)
