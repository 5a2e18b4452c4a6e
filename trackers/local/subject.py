"""One e-mail address in the local tracker (a data subject): finding the issues and comments that hold it, and
erasing it from them (``Tracker.find_subject`` / ``Tracker.erase_subject``).

Reporter and comment authors are found by their keyed hashes; participants are encrypted without a hash, so the
instance's issues are read in batches and their participants decrypted. Erasure writes the rows directly and emits
no issue event: an event would carry the old values (the address) to the notifications, the opposite of erasing."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from jemh.crypto import keyed_hash_candidates
from trackers.interface import (
    ERASED_SENDER,
    REDACTED_TEXT,
    SubjectErasure,
    SubjectHoldings,
    mentions,
    without_address,
)
from trackers.local import convert
from trackers.local.attachments import delete_blobs_on_commit
from trackers.models import Attachment, Comment, Issue

BATCH = 500


def _hashes(address: str) -> list[str]:
    return keyed_hash_candidates(address, purpose="email")


def _participating(instance_id: int, address: str) -> list[Issue]:
    wanted = address.strip().lower()
    found: list[Issue] = []
    last = 0
    while True:
        rows = list(Issue.objects.filter(instance_id=instance_id, pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return found
        found.extend(i for i in rows if any(str(a).strip().lower() == wanted for a in i.email_participants or []))
        last = rows[-1].pk


def _rows(instance_id: int, address: str, issue_keys: Sequence[str]) -> tuple[list[Issue], list[Issue], list[Comment]]:
    reported = list(
        Issue.objects.filter(instance_id=instance_id, email_sender_address_hash__in=_hashes(address)).order_by("pk")
    )
    participating = _participating(instance_id, address)
    comments = list(
        Comment.objects.filter(instance_id=instance_id, author_email_hash__in=_hashes(address))
        .select_related("issue")
        .order_by("pk")
    )
    return reported, participating, comments


def find(instance_id: int, address: str, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
    reported, participating, comments = _rows(instance_id, address, issue_keys)
    return SubjectHoldings(
        reported=tuple(convert.to_issue(i) for i in reported),
        participating=tuple(convert.to_issue(i) for i in participating),
        comments=tuple(convert.to_comment(c) for c in comments),
    )


def erase(
    instance_id: int, address: str, issue_keys: Sequence[str] = (), *, redact_texts: bool = False
) -> SubjectErasure:
    counts: dict[str, int] = dict.fromkeys(SubjectErasure().as_counts(), 0)
    wanted = address.strip().lower()
    with transaction.atomic():
        reported, participating, comments = _rows(instance_id, address, issue_keys)
        doomed: list[Attachment] = []
        for issue in reported:
            issue.email_sender_address = issue.email_sender_name = issue.email_sender_address_hash = ""
            counts["reporter_fields_cleared"] += 1
            if redact_texts:
                issue.summary, issue.description = REDACTED_TEXT, ""
                counts["texts_redacted"] += 1
                doomed.extend(Attachment.objects.filter(issue=issue, comment__isnull=True))
            fields = ["email_sender_address", "email_sender_name", "email_sender_address_hash", "updated_at"]
            issue.save(update_fields=[*fields, "summary", "description"])
        for issue in participating:
            issue.refresh_from_db(fields=["email_participants"])
            kept = [a for a in issue.email_participants or [] if str(a).strip().lower() != wanted]
            Issue.objects.filter(pk=issue.pk).update(email_participants=kept)
            counts["participants_removed"] += 1
        for comment in comments:
            comment.author_email = comment.author_email_hash = ""
            comment.author_name = ERASED_SENDER
            fields = ["author_email", "author_email_hash", "author_name", "updated_at"]
            if redact_texts:
                comment.body = REDACTED_TEXT
                fields.append("body")
                counts["texts_redacted"] += 1
                doomed.extend(Attachment.objects.filter(comment=comment))
            comment.save(update_fields=fields)
            counts["comment_authors_replaced"] += 1
        doomed_ids = {a.pk for a in doomed}
        counts["attachments_removed"] = len(doomed_ids)
        delete_blobs_on_commit([a.blob_name for a in doomed])
        Attachment.objects.filter(pk__in=doomed_ids).delete()
        # the address cut out of every text of the issues it touched (others quoting it, its own when not redacted)
        touched = {i.pk for i in (*reported, *participating)} | {c.issue_id for c in comments}
        keys = [k.strip().upper() for k in issue_keys if k.strip()]
        scope = Issue.objects.filter(instance_id=instance_id, pk__in=touched) | Issue.objects.filter(
            instance_id=instance_id, key__in=keys
        )
        for issue in scope.distinct():
            if mentions(issue.summary, address) or mentions(issue.description, address):
                Issue.objects.filter(pk=issue.pk).update(
                    summary=without_address(issue.summary, address)[:255],
                    description=without_address(issue.description, address),
                )
                counts["mentions_removed"] += 1
            for comment in Comment.objects.filter(issue=issue):
                if mentions(comment.body, address):
                    Comment.objects.filter(pk=comment.pk).update(body=without_address(comment.body, address))
                    counts["mentions_removed"] += 1
            for attachment in Attachment.objects.filter(issue=issue):
                if mentions(attachment.filename, address):
                    Attachment.objects.filter(pk=attachment.pk).update(
                        filename=without_address(attachment.filename, address)[:255]
                    )
                    counts["mentions_removed"] += 1
    return SubjectErasure(**counts)
