"""Instance: the tenant. One connected tracker site; every model holding customer data belongs to one."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class TrackerKind(models.TextChoices):
    LOCAL = "local", "Built-in local tracker"
    JIRA = "jira", "Jira (Cloud or Data Center)"


class Instance(models.Model):
    name = models.CharField(max_length=200, unique=True)
    tracker_kind = models.CharField(max_length=16, choices=TrackerKind.choices, default=TrackerKind.LOCAL)
    base_url = models.URLField(blank=True, help_text="The tracker site's URL (required for Jira).")
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="administered_instances",
        help_text="People told about problems with this instance (e.g. a mailbox that keeps failing).",
    )
    store_raw_mail = models.BooleanField(
        default=True,
        help_text="Keep the full source of inbound mail (encrypted). Off: only the audit row remains "
        "once processing ends.",
    )
    store_outbound_mail = models.BooleanField(
        default=True, help_text="Keep the full content of sent notifications (encrypted)."
    )
    raw_mail_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    audit_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    failure_retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1)], help_text="How long audit rows of failed mail are kept."
    )
    event_retention_days = models.PositiveIntegerField(default=7, validators=[MinValueValidator(1)])
    outbound_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.tracker_kind == TrackerKind.JIRA and not self.base_url:
            raise ValidationError({"base_url": "A Jira instance needs the site's base URL."})
