"""Issue events, notification mappings, outbound mail audit rows, the (event, recipient) idempotency record and
Jira webhook deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from jemh.fields import EncryptedJSONField, EncryptedTextField
from notifications.choices import (
    DeliveryStatus,
    EventKind,
    EventSource,
    EventStatus,
    MailFormat,
    OutboundKind,
    OutboundStatus,
)
from notifications.recipients import pattern_errors
from notifications.rendering import template_errors

DEFAULT_ATTACHMENT_CAP = 5 * 1024 * 1024


def all_event_kinds() -> list[str]:
    return list(EventKind.values)


class IssueEvent(models.Model):
    """Something that happened to an issue; the payload is encrypted and kept only for a short time."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="issue_events")
    source = models.CharField(max_length=16, choices=EventSource.choices, default=EventSource.LOCAL)
    external_id = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        help_text="The sender's id of the event (e.g. a Jira webhook delivery id): a second delivery is ignored.",
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    issue_key = models.CharField(max_length=64)
    project_key = models.CharField(max_length=32)
    actor = EncryptedJSONField(null=True, blank=True, help_text="Who made the change ({account_id, email, name}).")
    payload = EncryptedJSONField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="End of the batch window this event waits for.")
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.PENDING)
    reason = models.TextField(blank=True, help_text="Why the event ended as it did (no personal data).")
    batch_token = models.UUIDField(null=True, blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [("run_issueevent_again", "Can run issue events again")]
        indexes = [
            models.Index(fields=["instance", "issue_key", "status", "due_at"], name="notif_event_batch"),
            models.Index(fields=["status", "due_at"], name="notif_event_overdue"),
            models.Index(fields=["expires_at"], name="notif_event_expiry"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "source", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="notif_event_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.issue_key} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.expires_at is None:
            days = self.instance.event_retention_days if self.instance_id else 7
            self.expires_at = (self.received_at or timezone.now()) + timedelta(days=days)
        super().save(*args, **kwargs)


class NotificationMapping(models.Model):
    """Which events of which projects notify whom, in which format, with which templates."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="notification_mappings")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    projects = models.JSONField(default=list, blank=True, help_text='Project keys, e.g. ["ABC", "OPS"]; empty: all.')
    event_kinds = models.JSONField(
        default=all_event_kinds, blank=True, help_text=f"Any of {', '.join(EventKind.values)}; empty: none."
    )
    format = models.CharField(max_length=8, choices=MailFormat.choices, default=MailFormat.BOTH)

    notify_reporter = models.BooleanField(default=True)
    notify_assignee = models.BooleanField(default=True)
    notify_watchers = models.BooleanField(default=True)
    notify_participants = models.BooleanField(default=True, help_text="Email-only participants of the issue.")
    notify_project_lead = models.BooleanField(default=False)
    fixed_recipients = models.TextField(blank=True, help_text="Further addresses, one per line.")
    exclude_patterns = models.TextField(
        blank=True,
        help_text="Never notify these, one per line: an address, a domain (example.com or @example.com), "
        "*.example.com for subdomains, or a wildcard pattern (*-noreply@*). The catch addresses and reply "
        "addresses of this instance's profiles are always excluded.",
    )
    skip_actor = models.BooleanField(default=True, verbose_name="don't notify the person who made the change")
    acknowledge_requester = models.BooleanField(
        default=True,
        verbose_name="acknowledge new requests",
        help_text="When mail creates an issue, the person who wrote it (also one without an account) gets an "
        "acknowledgement with the issue's key and how to reply, instead of the creation notice, even with "
        '"don\'t notify the person who made the change". Never sent to automated mail (auto-replies, bounces, '
        "bulk and list mail).",
    )

    include_attachments = models.BooleanField(default=False, help_text="Attach files added since the last mail.")
    attachment_max_bytes = models.PositiveIntegerField(
        default=DEFAULT_ATTACHMENT_CAP, help_text="Total size cap for attached files; larger ones are only named."
    )
    batch_window_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Merge events of one issue arriving within this many seconds into one mail "
        "(empty: the JEMH_NOTIFICATION_BATCH_WINDOW setting, 60 s by default).",
    )
    from_address = models.CharField(max_length=254, blank=True, help_text="From (empty: DEFAULT_FROM_EMAIL).")
    reply_address = models.EmailField(
        blank=True,
        help_text="Reply address given a per-recipient token (support+t-…@). Empty: the reply address of the "
        "instance's first profile that has one; none: no Reply-To.",
    )
    subject_template = models.TextField(blank=True, help_text="Django template; empty: the default.")
    text_template = models.TextField(blank=True, help_text="Django template; empty: the default.")
    html_template = models.TextField(blank=True, help_text="Django template (autoescaped); empty: the default.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instance", "name"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "name"], name="notif_mapping_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def wants(self, project_key: str, kind: str) -> bool:
        projects = {p.strip().upper() for p in self.projects or [] if str(p).strip()}
        return self.enabled and kind in (self.event_kinds or []) and (not projects or project_key.upper() in projects)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.projects, list) or not all(isinstance(p, str) for p in self.projects):
            errors["projects"] = 'A list of project keys, e.g. ["ABC", "OPS"].'
        unknown = (
            [k for k in self.event_kinds or [] if k not in EventKind.values]
            if isinstance(self.event_kinds, list)
            else ["?"]
        )
        if unknown:
            errors["event_kinds"] = f"Unknown kinds {unknown}; use a list of: {', '.join(EventKind.values)}."
        problems = pattern_errors(self.exclude_patterns)
        if problems:
            errors["exclude_patterns"] = "; ".join(problems)
        for name in ("subject_template", "text_template", "html_template"):
            problem = template_errors(getattr(self, name))
            if problem:
                errors[name] = problem
        if errors:
            raise ValidationError(errors)


class OutboundMessage(models.Model):
    """One mail we send to one recipient (a notification, a hint, a forward, an alert or a test mail): audit row,
    send state and the stored message, with what caused it (its events, the inbound message, the issue)."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="outbound_messages")
    kind = models.CharField(max_length=16, choices=OutboundKind.choices, default=OutboundKind.NOTIFICATION)
    mapping = models.ForeignKey(
        NotificationMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    events = models.ManyToManyField(IssueEvent, through="NotificationDelivery", related_name="outbound_messages")
    issue_key = models.CharField(max_length=64, blank=True)
    inbound_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The inbound message that caused this mail (a hint or a forward), by id: the inbound app owns it.",
    )
    idempotency_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Set by the sender when the same cause must not send this mail twice (e.g. a re-run of an inbound "
        "message): a second request with the same key sends nothing.",
    )
    recipients = EncryptedJSONField(default=list)
    recipient_hash = models.CharField(max_length=64, db_index=True, help_text="Keyed hash of the recipient.")
    subject = EncryptedTextField(blank=True, default="")
    message_id = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = EncryptedTextField(blank=True, default="", help_text="The last error (may quote the server).")
    blob_name = models.CharField(max_length=500, blank=True, help_text="The full message in the encrypting storage.")
    keep_blob = models.BooleanField(default=True, help_text="Keep the message after sending (instance setting).")
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    unreachable_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when the SMTP server could not be reached for this mail (no attempts are spent meanwhile); "
        "cleared once the server answers.",
    )
    maybe_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a send ended in doubt: the whole message went out but the connection dropped before the "
        "server confirmed it, so it may have arrived. Such a mail is sent once more, never a third time.",
    )
    maybe_sent_reason = models.CharField(max_length=300, blank=True, help_text="What ended that send in doubt.")
    resent_at = models.DateTimeField(null=True, blank=True, help_text="When it was last sent again from the admin.")
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("resend_notification", "Can send failed notifications again"),
            ("send_test_mail", "Can send a test mail from an instance's mail settings"),
        ]
        indexes = [
            models.Index(fields=["instance", "issue_key", "created_at"], name="notif_outbound_thread"),
            models.Index(fields=["status", "next_attempt_at"], name="notif_outbound_due"),
            models.Index(fields=["expires_at"], name="notif_outbound_expiry"),
            models.Index(fields=["kind", "status", "created_at"], name="notif_outbound_kind"),
            models.Index(fields=["instance", "status", "sent_at"], name="notif_outbound_sent"),  # hourly limits
        ]

    def __str__(self) -> str:
        about = self.issue_key or self.get_kind_display()
        return f"{about} → {self.recipient_hash[:12]} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.expires_at is None:
            days = self.instance.outbound_retention_days if self.instance_id else 30
            self.expires_at = (self.created_at or timezone.now()) + timedelta(days=days)
        super().save(*args, **kwargs)


class NotificationDelivery(models.Model):
    """The idempotency record: one event reaches one recipient at most once."""

    event = models.ForeignKey(IssueEvent, on_delete=models.CASCADE, related_name="deliveries")
    outbound = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="deliveries")
    recipient_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient_hash"], name="notif_delivery_once"),
        ]


class WebhookDelivery(models.Model):
    """One Jira webhook delivery we accepted (its signature or token checked): the raw body is kept encrypted only
    until a task has turned it into an :class:`IssueEvent` (or found that nothing wants it); what stays is its
    identity, so a retry or a replay of it is refused, and what became of it."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="webhook_deliveries")
    identifier = models.CharField(
        max_length=200, blank=True, help_text="X-Atlassian-Webhook-Identifier (the same for every retry)."
    )
    body_hash = models.CharField(max_length=64, help_text="Keyed hash of the raw body (a replay under another id).")
    webhook_event = models.CharField(max_length=64, blank=True, help_text="Jira's webhookEvent, e.g. comment_created.")
    body = EncryptedTextField(blank=True, default="", help_text="The raw body, until it has been processed.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    reason = models.TextField(blank=True, help_text="Why it ended as it did (no personal data).")
    event = models.ForeignKey(IssueEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "identifier"],
                condition=~models.Q(identifier=""),
                name="notif_webhook_unique_identifier",
            ),
            models.UniqueConstraint(fields=["instance", "body_hash"], name="notif_webhook_unique_body"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="notif_webhook_expiry")]

    def __str__(self) -> str:
        return f"{self.webhook_event or 'webhook'} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.expires_at is None:
            days = self.instance.event_retention_days if self.instance_id else 7
            self.expires_at = (self.received_at or timezone.now()) + timedelta(days=days)
        super().save(*args, **kwargs)
