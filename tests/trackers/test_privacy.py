"""Email-only people's data and attachments are unreadable at rest and readable through the tracker."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from jemh import crypto
from jemh.crypto import keyed_hash
from trackers.interface import AttachmentUpload, NewComment, NewIssue
from trackers.local import LocalTracker
from trackers.models import Comment, Issue, IssueMessageId

SENDER = "carol.customer@private.example"
PARTICIPANT = "dave.secret@private.example"


def _raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def test_email_only_fields_are_encrypted_at_rest(tracker: LocalTracker) -> None:
    issue = tracker.create_issue(
        NewIssue(
            "ABC",
            "Help",
            email_sender_address=SENDER,
            email_sender_name="Carol Q",
            email_participants=(PARTICIPANT,),
            message_ids=("<secret-id@private>",),
        )
    )
    tracker.add_comment(issue.key, NewComment("thanks", author_email=SENDER, author_name="Carol Q"))
    raw = _raw_rows("trackers_issue") + _raw_rows("trackers_comment") + _raw_rows("trackers_issuemessageid")
    for secret in (SENDER, PARTICIPANT, "Carol Q", "secret-id@private", "private.example"):
        assert secret not in raw
    stored = Issue.objects.get(key=issue.key)
    assert (stored.email_sender_address, stored.email_participants) == (SENDER, [PARTICIPANT])
    assert stored.email_sender_address_hash == keyed_hash(SENDER.upper(), purpose="email")
    assert Comment.objects.get().author_email_hash == stored.email_sender_address_hash
    assert IssueMessageId.objects.get().message_id == "<secret-id@private>"
    assert tracker.get_issue(issue.key).email_sender_name == "Carol Q"


def test_attachments_are_stored_encrypted(tracker: LocalTracker, blob_root: Path) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "x"))
    content = b"Confidential contract text, plainly readable. " * 100
    (attachment,) = tracker.add_attachments(issue.key, [AttachmentUpload("contract.txt", "text/plain", data=content)])
    files = [p for p in blob_root.rglob("*") if p.is_file()]
    assert len(files) == 1
    on_disk = files[0].read_bytes()
    assert b"Confidential" not in on_disk and on_disk.startswith(crypto.BLOB_MAGIC)
    assert "contract" not in str(files[0])  # the file name is not in the blob's name either
    assert tracker.read_attachment(issue.key, attachment.id) == content
    assert attachment.size == len(content)
