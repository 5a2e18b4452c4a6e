"""The built-in local tracker: projects, issues, comments, attachments and the Message-IDs of issues.

Change issues through :mod:`trackers.local.services` (the admin and the Tracker API both do), so every
change emits a :data:`trackers.signals.issue_event`. Email-only people's addresses and names are
encrypted at rest, with a keyed hash beside the address for look-ups.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from jemh.fields import EncryptedJSONField, EncryptedTextField
from jemh.models import Instance
from trackers.workflow import IssueType, Priority, Resolution, Status

PROJECT_KEY_RE = r"^[A-Z][A-Z0-9_]{0,9}$"


class Project(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="tracker_projects")
    key = models.CharField(
        max_length=10,
        validators=[
            RegexValidator(
                PROJECT_KEY_RE, "A capital letter, then up to 9 capital letters, digits or underscores (e.g. ABC)."
            )
        ],
        help_text="Prefix of issue keys (ABC → ABC-1). Cannot be changed once issues exist.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_issue_type = models.CharField(max_length=32, choices=IssueType.choices, default=IssueType.TASK)
    default_priority = models.CharField(max_length=32, choices=Priority.choices, default=Priority.MEDIUM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "key"]
        constraints = [models.UniqueConstraint(fields=["instance", "key"], name="trackers_project_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} - {self.name}"


class IssueCounter(models.Model):
    """The last issue number of a project, in its own row so editing the project never races with it."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="counter")
    last_number = models.PositiveBigIntegerField(default=0)


class Issue(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="tracker_issues")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="issues")
    number = models.PositiveBigIntegerField(editable=False)
    key = models.CharField(max_length=32, editable=False)
    summary = models.CharField(max_length=255)
    description = models.TextField(blank=True, help_text="Markdown.")
    issue_type = models.CharField(max_length=32, choices=IssueType.choices, default=IssueType.TASK)
    priority = models.CharField(max_length=32, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=32, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_issues"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_issues"
    )
    labels = models.JSONField(default=list, blank=True)
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="watched_issues")
    email_sender_address = EncryptedTextField(
        blank=True,
        default="",
        verbose_name="Email Sender Address",
        help_text="The reporter's address when they have no account (email-only user).",
    )
    email_sender_address_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    email_sender_name = EncryptedTextField(blank=True, default="", verbose_name="Email Sender Name")
    email_participants = EncryptedJSONField(
        default=list, blank=True, verbose_name="Email Participants", help_text="Addresses of email-only participants."
    )
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="Other custom fields, name → value (e.g. a foreign ticket number)."
    )
    source_message_id = models.PositiveBigIntegerField(
        null=True, blank=True, editable=False, help_text="Inbound audit id the issue was created from."
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "key"], name="trackers_issue_key_unique"),
            models.UniqueConstraint(fields=["project", "number"], name="trackers_issue_number_unique"),
            models.UniqueConstraint(
                fields=["instance", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="trackers_issue_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.summary}"


class Comment(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_email = EncryptedTextField(blank=True, default="", help_text="Email-only author's address.")
    author_email_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    author_name = EncryptedTextField(blank=True, default="")
    body = models.TextField(help_text="Markdown.")
    source_message_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="trackers_comment_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.issue.key}"


class Attachment(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    blob_name = models.CharField(max_length=500, editable=False, help_text="Name in the encrypting blob storage.")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "idempotency_key", "sha256"],
                condition=Q(idempotency_key__isnull=False),
                name="trackers_attachment_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class MessageIdKind(models.TextChoices):
    INBOUND = "inbound", "Inbound mail"
    OUTBOUND = "outbound", "Our notification"


class IssueMessageId(models.Model):
    """A Message-ID that belongs to an issue: mail it was made from, or a notification we sent about it."""

    # no index of its own: trackers_msgid_lookup (instance, hash) serves look-ups by instance, and a second index
    # let the planner scan every Message-ID of the instance for a reply's association look-up
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+", db_index=False)
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="message_ids")
    message_id_hash = models.CharField(max_length=64, db_index=True)
    message_id = EncryptedTextField()
    kind = models.CharField(max_length=16, choices=MessageIdKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "issue Message-ID"
        constraints = [
            models.UniqueConstraint(fields=["issue", "message_id_hash"], name="trackers_issue_message_id_unique"),
        ]
        indexes = [  # association looks Message-IDs up across the instance
            models.Index(fields=["instance", "message_id_hash"], name="trackers_msgid_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} Message-ID of {self.issue.key}"


class RemoteMessageId(models.Model):
    """A Message-ID that belongs to an issue of a remote tracker (Jira): looked up here, never by JQL.

    The local tracker's :class:`IssueMessageId` points at a local issue row; a remote issue has only its key."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    issue_key = models.CharField(max_length=64)
    message_id_hash = models.CharField(max_length=64)
    message_id = EncryptedTextField()
    kind = models.CharField(max_length=16, choices=MessageIdKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "remote issue Message-ID"
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "issue_key", "message_id_hash"], name="trackers_remote_message_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["instance", "message_id_hash"], name="trackers_remote_msgid_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} Message-ID of {self.issue_key}"


class RemoteIdempotencyKey(models.Model):
    """An idempotency key a remote tracker call was made with, and what it made (an issue key, a comment id).

    Claimed (``result`` empty) before the remote call, so two workers never both create; filled in after it. A
    claim left empty by a crashed worker is taken over once stale, after looking the result up in the tracker."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)
    result = models.CharField(max_length=200, blank=True, default="")
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "key"], name="trackers_remote_idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.key} → {self.result or '(in progress)'}"


class RemoteAttachment(models.Model):
    """What Jira does not keep about an attachment we uploaded: its content's SHA-256, the comment it came with,
    and the idempotency key of the upload (so a retried upload attaches each content once)."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    issue_key = models.CharField(max_length=64)
    attachment_id = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    comment_id = models.CharField(max_length=64, blank=True, default="")
    idempotency_key = models.CharField(max_length=300, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "attachment_id"], name="trackers_remote_attachment_unique"),
        ]
        indexes = [models.Index(fields=["instance", "issue_key"], name="trackers_remote_att_issue")]

    def __str__(self) -> str:
        return f"attachment {self.attachment_id} of {self.issue_key}"


class JiraIssueState(models.Model):
    """A Jira issue as the backend last read it, shared by every worker process (:mod:`trackers.jira.issue_state`):
    the converted issue (a ``TrackerIssue`` as JSON) and its attachment list, so that finding a reply's issue costs
    no Jira call while the entry is younger than ``JEMH_JIRA_ISSUE_STATE_SECONDS``.

    Both hold personal data (e-mail-only reporter and participants, users' addresses) and are encrypted. Every write
    the backend makes to the issue, every Jira webhook about it and a 404 on it replace ``version`` (so a read that
    started before cannot store what it saw) and refresh or clear the state; a row with no state is a tombstone that
    lets only reads begun after the change store again. Erasing an address and deleting the instance delete the
    instance's rows; the retention purge deletes old ones."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    issue_key = models.CharField(max_length=64)
    state = EncryptedJSONField(null=True, blank=True)  # None: nothing kept (changed since it was read)
    attachments = EncryptedJSONField(null=True, blank=True)  # Jira's attachment list of the issue; None: not known
    # apart from the state, so our own comment adds one and moves the issue's update time in SQL
    comment_count = models.IntegerField(null=True, blank=True)
    issue_updated_at = models.DateTimeField(null=True, blank=True)
    # ids of the comments we added and counted in: Jira's webhooks about them bring nothing new (not personal data)
    own_comments = models.JSONField(default=list, blank=True)
    version = models.BigIntegerField(default=0)  # a new random value with every change: a read stores only if kept
    fetched_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "Jira issue state"
        constraints = [
            models.UniqueConstraint(fields=["instance", "issue_key"], name="trackers_jira_issue_state_unique"),
        ]
        indexes = [models.Index(fields=["changed_at"], name="trackers_jira_state_changed")]

    def __str__(self) -> str:
        return f"state of {self.issue_key}"
