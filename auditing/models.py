"""Audit records. ``InboundMessage``: one row for every message that reached us, written before the source
is told the message was taken, and carried through processing to an outcome.

Personal fields (subject, sender, recipients, Message-ID) are encrypted; keyed hashes beside them serve
look-ups (deduplication by Message-ID, per-address export and erasure).
"""

from __future__ import annotations

from django.db import models

from jemh.fields import EncryptedJSONField, EncryptedTextField


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received (waiting for processing)"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed (will be retried)"
    ERROR = "error", "Error (needs a human)"


class Outcome(models.TextChoices):
    CREATED = "created", "Issue created"
    COMMENTED = "commented", "Comment added"
    DROPPED = "dropped", "Dropped"
    FILTERED = "filtered", "Filtered (left for a human)"
    FORWARDED = "forwarded", "Forwarded"
    REJECTED = "rejected", "Rejected (sender told why)"
    FAILED = "failed", "Failed (retryable)"
    ERROR = "error", "Error (needs a human)"


class InboundMessage(models.Model):
    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="inbound_messages")
    source = models.ForeignKey(
        "inbound.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    received_at = models.DateTimeField(db_index=True)

    message_id = EncryptedTextField(blank=True, default="")
    # Unique per instance among captured mail (see Meta.constraints); blank when the mail had no Message-ID.
    message_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Keyed hash of the raw content: recognises a message without Message-ID seen again (MTA retry,
    # UIDVALIDITY reset, the same mail through a second source).
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    subject = EncryptedTextField(blank=True, default="")
    sender = EncryptedTextField(blank=True, default="")
    sender_hash = models.CharField(max_length=64, blank=True, db_index=True)
    recipients = EncryptedJSONField(
        default=dict, blank=True, help_text="Addresses by header: To, Cc, Delivered-To, X-Original-To, ..."
    )
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes, as the source reported them.")

    raw_blob = models.CharField(
        max_length=500, blank=True, help_text="Name in the encrypted blob storage; blank when not kept."
    )
    raw_retained_until_processed = models.BooleanField(
        default=False,
        help_text="The instance does not keep raw mail: the blob exists only until processing ends, "
        "and processing must delete it.",
    )
    duplicate_copies = models.PositiveIntegerField(
        default=0,
        help_text="Further copies with the same Message-ID (or, without one, the same content) that arrived "
        "later (not processed again).",
    )

    status = models.CharField(
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED, db_index=True
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    report = EncryptedJSONField(default=dict, blank=True, help_text="Each step's verdict and reason.")
    processed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        # No index may cover status or updated_at: processing changes both twice per message, and on PostgreSQL
        # such updates are cheap "HOT" updates (no index touched) only while no index covers a changed column;
        # migration 0003 leaves room in each page for them (fillfactor). The resume sweep reads the table once a
        # minute without an index.
        # One captured row per Message-ID and instance, whatever races (capture also locks, see inbound.capture).
        # Rows of test-case runs (no source) are outside it: a test case may run the same mail again.
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "message_id_hash"],
                condition=~models.Q(message_id_hash="") & models.Q(source__isnull=False),
                name="inbound_unique_message_id",
            )
        ]
        indexes = [
            models.Index(fields=["instance", "message_id_hash"], name="inbound_instance_msgid"),
            models.Index(fields=["instance", "content_hash"], name="inbound_instance_content"),
            models.Index(fields=["source", "received_at"], name="inbound_source_received"),
            models.Index(fields=["instance", "sender_hash", "received_at"], name="inbound_sender_recent"),  # flood
        ]

    def __str__(self) -> str:
        return f"inbound #{self.pk} ({self.status}{', ' + self.outcome if self.outcome else ''})"
