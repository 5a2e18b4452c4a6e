"""What the read side writes: retention purge runs, the record of every read of stored raw mail, support flags (with
the snapshots they share and the record of flagging, unflagging and expiry), the access log of the support views, and
the record left by deleting an inbound message from the admin (no mail content, no personal data in it).

The mail itself belongs to inbound (``InboundMessage``); these rows point at it. A flag's snapshots are blobs in the
encrypting storage, fixed at flagging time, so what support sees never changes after the admin decided to share it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from jemh.fields import EncryptedTextField

# The permissions of the read side, as ``app_label.codename`` for ``has_perm``.
VIEW_RAW_MAIL = "auditing.view_raw_mail"
FLAG_FOR_SUPPORT = "auditing.flag_for_support"
SUPPORT_ACCESS = "auditing.view_flagged_mail"
SUPPORT_GROUP = "Support staff"


class RawRead(models.TextChoices):
    MAIL = "mail", "text body and attachment list"
    HTML = "html", "HTML body (sanitised)"
    SOURCE = "source", "full source"
    EML = "eml", ".eml download"
    ATTACHMENT = "attachment", "attachment download"


class RawMailAccess(models.Model):
    """One read of a message's stored raw mail in the admin: who read what, and when. Kept when the user is deleted
    (their name stays), and with the message (a message's reads go with it)."""

    message = models.ForeignKey("inbound.InboundMessage", on_delete=models.CASCADE, related_name="raw_reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)
    what = models.CharField(max_length=16, choices=RawRead.choices)
    detail = EncryptedTextField(blank=True, default="", help_text="The attachment, for an attachment download.")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "raw mail read"
        permissions = [("view_raw_mail", "Can read stored raw mail (bodies, attachments, source, .eml)")]

    def __str__(self) -> str:
        return f"{self.username} read the {self.get_what_display()} of inbound #{self.message_id}"


class SupportFlagQuerySet(QuerySet["SupportFlag"]):
    def active(self) -> SupportFlagQuerySet:
        """The flags support may see now: not withdrawn and not expired (whether or not expiry was recorded)."""
        return self.filter(withdrawn_at__isnull=True, expires_at__gt=timezone.now())


class SupportFlag(models.Model):
    """An admin's decision to share one inbound message with support staff, for a reason, until it is withdrawn or
    expires. It shares exactly three snapshots, taken at flagging time and stored encrypted: the raw mail, the
    processing report and the export of the profile that processed it (configuration only, no secret)."""

    message = models.ForeignKey("inbound.InboundMessage", on_delete=models.CASCADE, related_name="support_flags")
    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="+")
    reason = EncryptedTextField(help_text="Why support should look at this message (shown to support).")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    flagged_by_name = models.CharField(max_length=150)
    flagged_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by_name = models.CharField(max_length=150, blank=True)
    expiry_recorded_at = models.DateTimeField(null=True, blank=True)
    # At flagging time, as support sees them.
    outcome = models.CharField(max_length=16, blank=True)
    profile_name = models.CharField(max_length=200, blank=True)
    raw_blob = models.CharField(max_length=500, blank=True)
    report_blob = models.CharField(max_length=500, blank=True)
    profile_blob = models.CharField(max_length=500, blank=True, help_text="Blank: no profile could be exported.")

    objects = SupportFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-flagged_at", "-pk"]
        verbose_name = "flagged for support"
        verbose_name_plural = "flagged for support"
        permissions = [
            ("flag_for_support", "Can flag inbound mail for support, and unflag it"),
            ("view_flagged_mail", "Support staff: can see mail flagged for support (and only that)"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(withdrawn_at__isnull=True), name="flag_active")]

    def __str__(self) -> str:
        return f"support flag #{self.pk} of inbound #{self.message_id} ({self.state})"

    @property
    def state(self) -> str:
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.state == "active"

    @property
    def blobs(self) -> list[str]:
        return [name for name in (self.raw_blob, self.report_blob, self.profile_blob) if name]


class FlagEventKind(models.TextChoices):
    FLAGGED = "flagged", "flagged"
    UNFLAGGED = "unflagged", "unflagged"
    EXPIRED = "expired", "expired"


class SupportFlagEvent(models.Model):
    """The record of a flag's life: flagged, unflagged (by whom), expired."""

    flag = models.ForeignKey(SupportFlag, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=FlagEventKind.choices)
    by = models.CharField(max_length=150, blank=True, help_text="The admin; blank for expiry.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}" + (f" by {self.by}" if self.by else "")


class SupportSaw(models.TextChoices):
    LIST = "list", "list of flagged items"
    ITEM = "item", "item page (text, attachment list, report, profile export)"
    HTML = "html", "HTML body (sanitised)"
    EML = "eml", ".eml download"
    PROFILE = "profile", "profile export download"


class SupportAccess(models.Model):
    """One page view or download through the support views: who, which flagged item (none for the list), what was
    seen, when, and from which client address."""

    flag = models.ForeignKey(SupportFlag, null=True, blank=True, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)
    what = models.CharField(max_length=16, choices=SupportSaw.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "support access"
        verbose_name_plural = "support access log"

    def __str__(self) -> str:
        return f"{self.username}: {self.get_what_display()}" + (f" of flag #{self.flag_id}" if self.flag_id else "")


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


class ErasureRecord(models.Model):
    """An e-mail address erased on request (privacy.md, "Rights of the people in the mail"): when, by whom, in which
    instance, and how many things of each kind were erased. It holds no personal data of the person erased: not the
    address, nor any hash of it."""

    instance = models.ForeignKey("jemh.Instance", null=True, on_delete=models.SET_NULL, related_name="+")
    erased_at = models.DateTimeField(default=timezone.now, db_index=True)
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    erased_by_name = models.CharField(max_length=150, help_text="The admin's user name (kept if the user is deleted).")
    texts_redacted = models.BooleanField(default=False, help_text="Whether texts the person wrote were redacted too.")
    counts = models.JSONField(default=dict, help_text="What was erased, by kind (counts only).")

    class Meta:
        ordering = ["-erased_at", "-pk"]
        verbose_name = "erasure record"
        permissions = [
            ("export_subject", "Can export everything held about one e-mail address"),
            ("erase_subject", "Can erase everything held about one e-mail address"),
        ]

    def __str__(self) -> str:
        return f"erasure of {self.erased_at:%Y-%m-%d %H:%M} by {self.erased_by_name}"
