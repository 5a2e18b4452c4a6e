"""Records the read side keeps about its own work (no mail content, no personal data): retention purge runs, and
the record left by deleting an inbound message from the admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PurgeRun(models.Model):
    """One run of the retention purge for one instance: when, and how many things of each kind it removed."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="purge_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    counts = models.JSONField(default=dict, help_text="What was removed, by kind (counts only).")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["instance", "-started_at"], name="auditing_purge_latest")]

    def __str__(self) -> str:
        return f"purge of {self.started_at:%Y-%m-%d %H:%M}"


class InboundDeletion(models.Model):
    """An inbound message (its audit row and stored mail) deleted by an admin: who, when, why, and which message, by
    the keyed hash of its Message-ID only (so "was this mail deleted?" can still be answered, but nothing of the mail
    is kept). Read-only in the admin; never deleted from it."""

    inbound_id = models.PositiveBigIntegerField(help_text="The audit id the message had.")
    instance = models.ForeignKey("jemh.Instance", null=True, on_delete=models.SET_NULL, related_name="+")
    message_id_hash = models.CharField(max_length=64, blank=True, db_index=True, help_text="Keyed hash; blank: none.")
    received_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    deleted_by_name = models.CharField(max_length=150, help_text="The user name, kept if the user is deleted.")
    deleted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    raw_mail_deleted = models.BooleanField(default=False, help_text="Whether stored mail was removed with the row.")

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name = "inbound deletion"

    def __str__(self) -> str:
        return f"inbound #{self.inbound_id} deleted by {self.deleted_by_name} at {self.deleted_at:%Y-%m-%d %H:%M}"
