"""Attachments of local issues: content in the encrypting blob storage, metadata in the database."""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from collections.abc import Iterable
from typing import BinaryIO

from django.db import transaction

from jemh.rows import insert_row
from jemh.storage import blob_storage, discard_blobs, instance_blob_name
from trackers.errors import InvalidFieldValue
from trackers.interface import AttachmentUpload
from trackers.local.changes import SYSTEM, ChangeContext, emit
from trackers.models import Attachment, Comment, Issue
from trackers.signals import EventKind, FieldChange

log = logging.getLogger(__name__)


class _HashingReader:
    """Reads through a file while counting and hashing what was read."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0 or self.size:
            raise OSError("a hashing reader can only be rewound before it was read")
        return self.source.seek(0) if hasattr(self.source, "seek") else 0


def _store(issue: Issue, upload: AttachmentUpload) -> tuple[str, int, str]:
    """Write the content to blob storage; return (blob name, size, sha256)."""
    name = instance_blob_name(
        issue.instance, f"tracker/{issue.instance_id}/{issue.project.key}/{issue.number}/{uuid.uuid4().hex}"
    )
    reader = _HashingReader(io.BytesIO(upload.data) if upload.data is not None else upload.file)  # type: ignore[arg-type]  # one of data/file is set
    stored = blob_storage().save_stream(name, reader)  # type: ignore[arg-type]  # a reader, not a whole BinaryIO
    return stored, reader.size, reader.digest.hexdigest()


def add_attachments(
    issue: Issue,
    uploads: list[AttachmentUpload],
    *,
    comment: Comment | None = None,
    idempotency_key: str | None = None,
    ctx: ChangeContext = SYSTEM,
) -> list[Attachment]:
    """Attach each upload; with an idempotency key, content already attached under it is returned as is (an upload
    an earlier run attached: its content is stored again, found taken at insert, and removed).

    Emits one ``updated`` event (change ``attachments``) for the newly stored ones, in the transaction that records
    them. A failure records none of them (and removes the content stored for them).
    """
    expected_hashes = [upload.sha256.lower() if upload.sha256 else upload.content_sha256() for upload in uploads]
    # The content goes to blob storage first, outside any transaction (no row is locked while it is written);
    # then the rows and their event are written in one transaction: both are recorded or neither is.
    stored: list[tuple[AttachmentUpload, str, int, str]] = []
    try:
        for upload, expected in zip(uploads, expected_hashes, strict=True):
            blob, size, digest = _store(issue, upload)
            if digest != expected:
                blob_storage().delete(blob)
                raise InvalidFieldValue(
                    f"attachment {upload.filename!r}: its content does not match the SHA-256 given "
                    f"({expected}); pass the content's hash or none"
                )
            stored.append((upload, blob, size, digest))
        blob_storage().make_durable(s[1] for s in stored)  # on disk before the rows that name them commit
        with transaction.atomic():
            result, new = _insert_rows(issue, stored, comment, idempotency_key)
            if new:
                emit(
                    issue,
                    EventKind.UPDATED,
                    ctx,
                    comment_id=comment.pk if comment else None,
                    attachment_ids=tuple(a.pk for a in new),
                    changes=(FieldChange("attachments", None, [a.filename for a in new]),),
                )
    except BaseException:
        _delete_blobs([s[1] for s in stored])
        raise
    _delete_blobs([a.blob_name for a in result if isinstance(a, _Duplicate)])
    return [a.existing if isinstance(a, _Duplicate) else a for a in result]


class _Duplicate:
    """An upload a run under the same idempotency key attached earlier (or meanwhile): its blob is not needed."""

    def __init__(self, blob_name: str, existing: Attachment) -> None:
        self.blob_name = blob_name
        self.existing = existing


def _insert_rows(
    issue: Issue,
    stored: list[tuple[AttachmentUpload, str, int, str]],
    comment: Comment | None,
    idempotency_key: str | None,
) -> tuple[list[Attachment | _Duplicate], list[Attachment]]:
    """One INSERT per upload. Under an idempotency key, one the key already holds (the unique constraint on issue,
    key and content) is skipped in the statement itself, with no savepoint, and the row holding it returned."""
    result: list[Attachment | _Duplicate] = []
    new: list[Attachment] = []
    for upload, blob, size, digest in stored:
        attachment = Attachment(
            instance_id=issue.instance_id,
            issue=issue,
            comment=comment,
            blob_name=blob,
            filename=upload.filename.strip()[:255],
            content_type=upload.content_type[:255] or "application/octet-stream",
            size=size,
            sha256=digest,
            idempotency_key=idempotency_key,
        )
        if insert_row(attachment, skip_conflict=idempotency_key is not None):
            result.append(attachment)
            new.append(attachment)
        else:
            existing = Attachment.objects.get(issue=issue, idempotency_key=idempotency_key, sha256=digest)
            result.append(_Duplicate(blob, existing))
    return result, new


def _delete_blobs(names: list[str]) -> None:
    for name in names:
        try:
            blob_storage().delete(name)
        except Exception:
            log.exception("could not delete the unused attachment blob %s", name)


def read_attachment(attachment: Attachment) -> bytes:
    return blob_storage().read_bytes(attachment.blob_name)


def delete_blobs_on_commit(names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: discard_blobs(names, "attachment of a deleted issue"))


def referenced_blobs(names: Iterable[str]) -> set[str]:
    """Which of ``names`` an attachment still names (for the orphan purge)."""
    wanted = list(names)
    return set(Attachment.objects.filter(blob_name__in=wanted).values_list("blob_name", flat=True))
