"""Instance: the tenant. One connected tracker site; every model holding customer data belongs to one."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from jemh.crypto import keyed_hash
from jemh.fields import EncryptedTextField

WEBHOOK_TOKEN_PURPOSE = "jira-webhook-token"


def new_webhook_token() -> str:
    """A fresh instance token for the Jira webhook URL (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class TrackerKind(models.TextChoices):
    LOCAL = "local", "Built-in local tracker"
    JIRA = "jira", "Jira (Cloud or Data Center)"


class JiraDeployment(models.TextChoices):
    CLOUD = "cloud", "Jira Cloud (REST v3, account e-mail + API token)"
    DATA_CENTER = "datacenter", "Jira Data Center / Server (REST v2, personal access token)"


# Outbound limits (issue 14): one issue's notifications to everyone on it, a few times an hour, fit; a flood
# made of someone else's recipient list does not.
DEFAULT_MAIL_PER_ISSUE_PER_HOUR = 50
DEFAULT_MAIL_PER_HOUR = 1000


class Instance(models.Model):
    name = models.CharField(max_length=200, unique=True)
    tracker_kind = models.CharField(max_length=16, choices=TrackerKind.choices, default=TrackerKind.LOCAL)
    base_url = models.URLField(blank=True, help_text="The tracker site's URL (required for Jira).")
    jira_deployment = models.CharField(
        max_length=16,
        choices=JiraDeployment.choices,
        default=JiraDeployment.CLOUD,
        db_default=JiraDeployment.CLOUD,  # rows written by code that predates the column (migration tests) get it too
        verbose_name="Jira deployment",
    )
    jira_email = EncryptedTextField(
        null=True,  # rows written by code that predates the column (migration tests) leave it empty
        blank=True,
        default="",
        verbose_name="Jira account e-mail",
        help_text="Cloud: the account the API token belongs to.",
    )
    jira_api_token = EncryptedTextField(
        null=True,  # rows written by code that predates the column (migration tests) leave it empty
        blank=True,
        default="",
        verbose_name="Jira API token",
        help_text="Cloud: an API token of that account.",
    )
    jira_pat = EncryptedTextField(
        null=True,  # rows written by code that predates the column (migration tests) leave it empty
        blank=True,
        default="",
        verbose_name="Jira personal access token",
        help_text="Data Center: sent as a bearer token.",
    )
    jira_max_concurrency = models.PositiveSmallIntegerField(
        default=10,
        db_default=10,  # rows written by code that predates the column (migration tests) get it too
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        verbose_name="Jira calls in flight at most",
        help_text="How many requests all workers together send to this Jira site at once. Jira answers in 50-500 ms, "
        "so a few in flight keep processing fast; lower it if Jira answers with rate limits (HTTP 429).",
    )
    jira_webhook_token = EncryptedTextField(
        null=True,  # rows written by code that predates the column (migration tests) leave it empty
        blank=True,
        default="",
        editable=False,
        verbose_name="Jira webhook token",
        help_text="The random part of this instance's webhook URL (/hooks/jira/<token>/), made when the instance is.",
    )
    jira_webhook_token_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False, help_text="Keyed hash of the token."
    )
    jira_webhook_secret = EncryptedTextField(
        null=True,  # rows written by code that predates the column (migration tests) leave it empty
        blank=True,
        default="",
        verbose_name="Jira webhook secret",
        help_text="The secret typed into Jira's webhook form: deliveries must then carry its HMAC-SHA256 signature "
        "(X-Hub-Signature). Empty: the URL's token alone admits a delivery.",
    )
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="administered_instances",
        help_text="People told about problems with this instance (e.g. a mailbox that keeps failing). They are "
        "members too.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="member_instances",
        help_text="The staff and support users who work on this instance: in the admin and the support views they see "
        "this instance's data (and only that of their instances); superusers see every instance.",
    )
    processing_paused = models.BooleanField(
        default=False,
        db_default=False,  # rows written by code that predates the column (migration tests) get it too
        help_text="Set when the tracker refused the instance's credentials or permissions: its mail waits "
        "(nothing is lost) until an admin fixes them and resumes processing.",
    )
    processing_paused_at = models.DateTimeField(null=True, blank=True)
    processing_paused_reason = models.TextField(
        blank=True, default="", db_default="", help_text="What the tracker said when processing paused."
    )
    store_raw_mail = models.BooleanField(
        default=True,
        help_text="Keep the full source of inbound mail (encrypted). Off: only the audit row remains "
        "once processing ends.",
    )
    store_outbound_mail = models.BooleanField(
        default=True, help_text="Keep the full content of sent notifications (encrypted)."
    )
    blob_storage = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the column (migration tests) get it too
        verbose_name="where its data is stored",
        help_text="The storage (JEMH_BLOB_STORAGES, e.g. eu or us) its raw mail, attachments and outbound content go "
        "to. Empty: the default storage. Changing it moves nothing: blobs already stored stay where they are (and are "
        "still read, purged and re-encrypted there); new ones go to the new storage.",
    )
    raw_mail_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    audit_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    failure_retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1)], help_text="How long audit rows of failed mail are kept."
    )
    event_retention_days = models.PositiveIntegerField(default=7, validators=[MinValueValidator(1)])
    outbound_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    max_mail_per_issue_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=DEFAULT_MAIL_PER_ISSUE_PER_HOUR,
        db_default=DEFAULT_MAIL_PER_ISSUE_PER_HOUR,  # rows written by code that predates the column get it too
        validators=[MinValueValidator(1)],
        verbose_name="mail per issue per hour",
        help_text="At most this many notifications, hints and forwards about one issue go out in any hour; more "
        "wait (held, with the time they go out) and are sent when the hour allows. Empty: no limit.",
    )
    max_mail_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=DEFAULT_MAIL_PER_HOUR,
        db_default=DEFAULT_MAIL_PER_HOUR,
        validators=[MinValueValidator(1)],
        verbose_name="mail per hour",
        help_text="At most this many notifications, hints and forwards of this instance go out in any hour; more "
        "wait the same way. Alerts and test mail are never held. Empty: no limit.",
    )
    graph_send_as = models.CharField(
        max_length=255,
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the column (migration tests) get it too
        verbose_name="send through Microsoft Graph as",
        help_text="A mailbox address: the instance's mail (notifications, hints, forwards, alerts) is sent through "
        "Microsoft Graph (sendMail) as this mailbox, with the instance's Microsoft OAuth app (the Mail.Send "
        "application permission). Empty: mail goes out through the configured SMTP server (EMAIL_URL).",
    )
    support_flag_days = models.PositiveIntegerField(
        default=30,
        db_default=30,  # rows written by code that predates the column (migration tests) get it too
        validators=[MinValueValidator(1)],
        verbose_name="support flags expire after (days)",
        help_text="Mail flagged for support is shared for this many days, unless unflagged sooner.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("check_tracker", "Can test an instance's tracker connection and create its custom fields"),
            ("resume_processing", "Can resume an instance's paused processing"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.jira_webhook_token:
            self.set_webhook_token(new_webhook_token())
        super().save(*args, **kwargs)

    def set_webhook_token(self, token: str) -> None:
        """Give the instance a new webhook token (the old URL stops working once saved)."""
        self.jira_webhook_token = token
        self.jira_webhook_token_hash = keyed_hash(token, purpose=WEBHOOK_TOKEN_PURPOSE)

    def clean(self) -> None:
        if self.tracker_kind == TrackerKind.JIRA and not self.base_url:
            raise ValidationError({"base_url": "A Jira instance needs the site's base URL."})
        from jemh.storage import storage_names

        if self.blob_storage and self.blob_storage not in storage_names():
            configured = ", ".join(storage_names()) or "none"
            raise ValidationError(
                {"blob_storage": f"No storage {self.blob_storage!r} is configured (JEMH_BLOB_STORAGES: {configured})."}
            )

    @property
    def jira_credentials_set(self) -> bool:
        """Whether the credentials the deployment needs are stored (they are never shown again)."""
        if self.jira_deployment == JiraDeployment.DATA_CENTER:
            return bool(self.jira_pat)
        return bool(self.jira_email and self.jira_api_token)


class OAuthProvider(models.TextChoices):
    GOOGLE = "google", "Google (Gmail, Google Workspace)"
    MICROSOFT = "microsoft", "Microsoft (Microsoft 365, Outlook.com)"


class OAuthApp(models.Model):
    """An instance's OAuth 2.0 client registered at one provider: what its mailboxes sign in through.

    Configured once per instance and provider by the operator; sources and outbound SMTP of the instance use it.
    The client secret is stored encrypted and never shown again.
    """

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="oauth_apps")
    provider = models.CharField(max_length=16, choices=OAuthProvider.choices)
    client_id = models.CharField(max_length=255, verbose_name="client id")
    client_secret = EncryptedTextField(
        blank=True, default="", help_text="Stored encrypted; never shown again. Blank for a public client (PKCE only)."
    )
    tenant = models.CharField(
        max_length=255,
        blank=True,
        help_text="Microsoft: the directory (tenant) id or domain; blank means 'organizations'. Unused for Google.",
    )
    issuer_url = models.URLField(
        blank=True,
        help_text="Blank: the provider's public endpoints. Set only for a private or test identity provider.",
    )

    class Meta:
        verbose_name = "OAuth app"
        constraints = [
            models.UniqueConstraint(fields=["instance", "provider"], name="jemh_oauthapp_one_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} app of {self.instance}"


class MetricCounter(models.Model):
    """One series of a counter (or a histogram's bucket, sum or count) added up across every process: each process
    counts in memory and adds its counts here after each task and request (jemh.metrics); ``/metrics`` reads them."""

    name = models.CharField(max_length=100)
    labels = models.CharField(max_length=300, blank=True, help_text="name=value pairs, sorted, comma-separated")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="jemh_metric_counter_series")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} {self.value:g}"
