"""Mail sources (IMAP, POP3, Maildir, MTA pipe, Microsoft Graph), what retrieval remembers about them, and the audit
row of every message that reached us (``InboundMessage``, written here by capture and processing, read by ``auditing``).

A ``Source`` holds two kinds of fields: configuration (edited by admins) and runtime state (health,
back-off, the poll lease, the last seen UIDVALIDITY) written only by the retrieval services. A plain
``save()`` of an existing source writes configuration only, so an admin saving a form can never undo
what a running poll recorded (or release its lease).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from jemh.fields import EncryptedJSONField, EncryptedTextField
from jemh.models import OAuthApp, OAuthProvider

DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def validate_authserv_id_lines(value: str) -> None:
    """One authserv-id per line (RFC 8601: a dot-atom such as mx.example.com)."""
    bad = [line.strip() for line in value.splitlines() if line.strip() and not _AUTHSERV_ID.fullmatch(line.strip())]
    if bad:
        raise ValidationError(f"not an authserv-id (e.g. mx.example.com): {', '.join(bad)}")


def authserv_ids(value: str) -> tuple[str, ...]:
    """The configured authserv-ids, lower case."""
    return tuple(dict.fromkeys(line.strip().lower() for line in value.splitlines() if line.strip()))


class SourceKind(models.TextChoices):
    IMAP = "imap", "IMAP"
    POP3 = "pop3", "POP3"
    MAILDIR = "maildir", "Maildir"
    PIPE = "pipe", "MTA pipe (jemh deliver)"
    GMAIL_OAUTH = "gmail_oauth", "Gmail (IMAP, OAuth sign-in)"
    M365_OAUTH = "m365_oauth", "Microsoft 365 (IMAP, OAuth sign-in)"
    GRAPH = "graph", "Microsoft Graph"


IMAP_KINDS = frozenset({SourceKind.IMAP, SourceKind.GMAIL_OAUTH, SourceKind.M365_OAUTH})
POLLED_KINDS = IMAP_KINDS | {SourceKind.POP3, SourceKind.MAILDIR, SourceKind.GRAPH}
FOLDER_KINDS = IMAP_KINDS | {SourceKind.GRAPH}  # read one named folder
MOVING_KINDS = FOLDER_KINDS | {SourceKind.MAILDIR}  # "move to a folder" applies
# The mailbox kinds with a provider's preset server; they sign in with OAuth only.
OAUTH_KINDS = {
    SourceKind.GMAIL_OAUTH: (OAuthProvider.GOOGLE, "imap.gmail.com", "smtp.gmail.com"),
    SourceKind.M365_OAUTH: (OAuthProvider.MICROSOFT, "outlook.office365.com", "smtp.office365.com"),
}


class AuthMethod(models.TextChoices):
    PASSWORD = "password", "Password"
    OAUTH2 = "oauth2", "OAuth 2 (sign in with the mailbox's account)"
    OAUTH2_APP = "oauth2_app", "OAuth 2 app-only (Microsoft: the app reads the mailbox named as user name)"


OAUTH_METHODS = frozenset({AuthMethod.OAUTH2, AuthMethod.OAUTH2_APP})


class SaslMechanism(models.TextChoices):
    XOAUTH2 = "xoauth2", "XOAUTH2 (Google, Microsoft)"
    OAUTHBEARER = "oauthbearer", "OAUTHBEARER (RFC 7628)"


class Security(models.TextChoices):
    TLS = "tls", "TLS (implicit, e.g. 993/995)"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "None (plain text; only on a trusted network)"


class ReadStrategy(models.TextChoices):
    MARK_READ = "mark_read", "Mark as read"
    MOVE = "move", "Move to a folder"
    DELETE = "delete", "Delete"


DEFAULT_PORTS = {
    (SourceKind.IMAP, Security.TLS): 993,
    (SourceKind.IMAP, Security.STARTTLS): 143,
    (SourceKind.IMAP, Security.NONE): 143,
    (SourceKind.POP3, Security.TLS): 995,
    (SourceKind.POP3, Security.STARTTLS): 110,
    (SourceKind.POP3, Security.NONE): 110,
    **{(kind, security): 993 if security == Security.TLS else 143 for kind in OAUTH_KINDS for security in Security},
}
SMTP_PORTS = {Security.TLS: 465, Security.STARTTLS: 587, Security.NONE: 587}

# Written only by retrieval (health, back-off, lease, mailbox state); never by a plain save().
RUNTIME_FIELDS = frozenset(
    {
        "last_poll_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "failing_since",
        "next_poll_at",
        "disabled_reason",
        "poll_lease_token",
        "poll_lease_until",
        "uidvalidity",
        "uidvalidity_folder",
        "oauth_access_token",
        "oauth_refresh_token",
        "oauth_token_expires_at",
        "graph_delta_link",
        "graph_delta_scope",
        "oauth_account",
        "oauth_connected_at",
        "oauth_refreshed_at",
    }
)

# The configuration fields a Microsoft Graph source uses (beside the common ones: name, profile, schedule, limits).
GRAPH_FIELDS = ("graph_mailbox", "folder", "read_strategy", "move_to")


class Source(models.Model):
    """A place mail is taken from, belonging to one instance."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=100, help_text="Unique within the instance; the pipe command uses it.")
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.IMAP)
    enabled = models.BooleanField(default=True)
    profile = models.ForeignKey(
        "profiles.Profile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sources",
        help_text="The profile mail from this source is processed with. Blank: the instance's only enabled profile.",
    )
    trusted_authserv_ids = models.TextField(
        blank=True,
        validators=[validate_authserv_id_lines],
        help_text="The authserv-ids of your own MTA (one per line, e.g. mx.example.com): only Authentication-Results "
        "headers naming one of them are trusted for SPF/DKIM/DMARC. Your MTA must remove such headers from "
        "incoming mail. Empty: no sender is authenticated.",
    )

    # Connection (IMAP, POP3)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(65535)],
        help_text="Blank: the usual port for the protocol and security (993/143 IMAP, 995/110 POP3).",
    )
    security = models.CharField(max_length=16, choices=Security.choices, default=Security.TLS)
    auth_method = models.CharField(max_length=16, choices=AuthMethod.choices, default=AuthMethod.PASSWORD)
    username = models.CharField(max_length=255, blank=True)
    password = EncryptedTextField(blank=True, default="", help_text="Stored encrypted; never shown again.")
    # OAuth (Gmail, Microsoft 365, or any IMAP/POP3 server taking bearer tokens): configuration...
    oauth_provider = models.CharField(
        max_length=16,
        choices=OAuthProvider.choices,
        blank=True,
        help_text="OAuth: whose OAuth app of the instance signs in (implied by the Gmail and Microsoft 365 kinds).",
    )
    sasl_mechanism = models.CharField(
        max_length=16,
        choices=SaslMechanism.choices,
        default=SaslMechanism.XOAUTH2,
        help_text="OAuth: how the token is presented to the IMAP/POP3/SMTP server.",
    )
    # ... and what the sign-in ("Connect with ...") and refreshes write (runtime; tokens never shown).
    oauth_access_token = EncryptedTextField(blank=True, default="")
    oauth_refresh_token = EncryptedTextField(blank=True, default="")
    oauth_token_expires_at = models.DateTimeField(null=True, blank=True)
    oauth_account = models.CharField(max_length=255, blank=True, help_text="Whose mailbox the sign-in connected.")
    oauth_connected_at = models.DateTimeField(null=True, blank=True)
    oauth_refreshed_at = models.DateTimeField(null=True, blank=True)

    # Outbound: the instance's notifications, hints and forwards sent through this mailbox's SMTP server (OAuth)
    send_notifications = models.BooleanField(
        default=False,
        help_text="OAuth: send this instance's notifications, hints and forwards through this mailbox's SMTP "
        "server, signed in with the same OAuth connection (otherwise EMAIL_URL is used).",
    )
    smtp_host = models.CharField(max_length=255, blank=True, help_text="Blank: the provider's (Gmail, Microsoft 365).")
    smtp_port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(65535)], help_text="Blank: 465 for TLS, else 587."
    )
    smtp_security = models.CharField(max_length=16, choices=Security.choices, default=Security.STARTTLS)

    # What to read and what to do with it afterwards
    folder = models.CharField(
        max_length=255, default="INBOX", blank=True, help_text="IMAP or Microsoft Graph folder to read."
    )
    read_strategy = models.CharField(
        max_length=16,
        choices=ReadStrategy.choices,
        default=ReadStrategy.MARK_READ,
        help_text="IMAP, Maildir and Microsoft Graph: what happens to a message once it is captured.",
    )
    move_to = models.CharField(max_length=255, blank=True, help_text="Folder for the 'move' strategy.")
    delete_after_capture = models.BooleanField(
        default=False,
        help_text="POP3: delete messages from the server once captured (otherwise kept).",
    )
    maildir_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="Maildir: the directory mail is delivered into (holding new/, cur/ and tmp/).",
    )

    # Microsoft Graph: whose mailbox, and where the last delta round ended (runtime)
    graph_mailbox = models.CharField(
        "mailbox",
        max_length=255,
        blank=True,
        help_text="Microsoft Graph: the mailbox's address (user principal name) or user id. The folder is a "
        "well-known name (inbox, archive, ...), a folder id, or the display name of a top-level folder.",
    )
    graph_delta_link = models.TextField(blank=True, default="")
    graph_delta_scope = models.CharField(max_length=600, blank=True, default="")  # mailbox and folder of the link

    # Scheduling and limits
    poll_interval = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(86400)], help_text="Seconds."
    )
    batch_limit = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="At most this many new messages are captured per poll.",
    )
    max_message_size = models.PositiveBigIntegerField(
        default=DEFAULT_MAX_MESSAGE_SIZE,
        validators=[MinValueValidator(1024)],
        help_text="Bytes. Larger mail is recorded from its headers and rejected as too large.",
    )

    # Health and back-off (runtime)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = EncryptedTextField(blank=True, default="", help_text="The server's own words.")
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)

    # Never two polls of one source at once: a lease taken with a conditional UPDATE (any database).
    poll_lease_token = models.CharField(max_length=64, blank=True)
    poll_lease_until = models.DateTimeField(null=True, blank=True)

    # IMAP: the UIDVALIDITY last seen, and of which folder
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uidvalidity_folder = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instance__name", "name"]
        constraints = [models.UniqueConstraint(fields=["instance", "name"], name="source_name_unique_per_instance")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def effective_port(self) -> int | None:
        return self.port or DEFAULT_PORTS.get((SourceKind(self.kind), Security(self.security)))

    @property
    def is_polled(self) -> bool:
        return self.kind in POLLED_KINDS

    @property
    def uses_oauth(self) -> bool:
        return self.kind in OAUTH_KINDS or self.auth_method in OAUTH_METHODS

    @property
    def app_only(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH2_APP

    @property
    def effective_oauth_provider(self) -> str:
        preset = OAUTH_KINDS.get(SourceKind(self.kind))
        return preset[0] if preset else self.oauth_provider

    @property
    def oauth_provider_name(self) -> str:
        """The provider as a button names it: "Google", "Microsoft"."""
        return {"google": "Google", "microsoft": "Microsoft"}.get(self.effective_oauth_provider, "OAuth")

    @property
    def effective_host(self) -> str:
        preset = OAUTH_KINDS.get(SourceKind(self.kind))
        return self.host or (preset[1] if preset else "")

    @property
    def effective_smtp_host(self) -> str:
        preset = OAUTH_KINDS.get(SourceKind(self.kind))
        return self.smtp_host or (preset[2] if preset else "")

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port or SMTP_PORTS[Security(self.smtp_security)]

    @property
    def login_name(self) -> str:
        """The user name presented with a token: the configured one, else the signed-in account."""
        return self.username or self.oauth_account

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in RUNTIME_FIELDS
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        profile = self.profile if self.profile_id is not None else None
        if profile is not None and self.instance_id is not None and profile.instance_id != self.instance_id:
            errors["profile"] = "This profile belongs to another instance: choose one of the source's instance."
        if self.kind in OAUTH_KINDS and self.auth_method not in OAUTH_METHODS:
            errors["auth_method"] = "Gmail and Microsoft 365 accept only OAuth: choose an OAuth 2 sign-in."
        if self.uses_oauth and self.kind not in OAUTH_KINDS and self.kind not in (SourceKind.IMAP, SourceKind.POP3):
            errors["auth_method"] = "OAuth signs in to IMAP or POP3 mailboxes only."
        elif self.uses_oauth and not self.effective_oauth_provider:
            errors["oauth_provider"] = "Choose whose OAuth app of the instance signs in (Google or Microsoft)."
        elif self.app_only and self.effective_oauth_provider != OAuthProvider.MICROSOFT:
            errors["auth_method"] = "App-only access exists for Microsoft 365 only."
        if self.kind in (SourceKind.IMAP, SourceKind.POP3) and not self.host:
            errors["host"] = "The mail server's host name is required."
        if self.kind in (SourceKind.IMAP, SourceKind.POP3) and not self.uses_oauth:
            if not self.username:
                errors["username"] = "The mailbox user name is required."
            if not self.password:
                errors["password"] = "The mailbox password is required."
        if self.app_only and not self.username:
            errors["username"] = "App-only access: enter the mailbox address the app reads (e.g. support@example.com)."
        if self.send_notifications and not self.uses_oauth:
            errors["send_notifications"] = "Only an OAuth mailbox sends notifications; password SMTP uses EMAIL_URL."
        elif self.send_notifications and not self.effective_smtp_host:
            errors["smtp_host"] = "The SMTP server's host name is required."
        if self.kind in FOLDER_KINDS and not self.folder:
            errors["folder"] = "Name the folder to read (usually INBOX)."
        if self.kind == SourceKind.GRAPH:
            errors.update(self._graph_errors())
        if self.kind in MOVING_KINDS and self.read_strategy == ReadStrategy.MOVE:
            if not self.move_to:
                errors["move_to"] = "Name the folder captured mail is moved to."
            elif self.kind in FOLDER_KINDS and self.move_to == self.folder:
                errors["move_to"] = "The move-to folder must differ from the folder being read."
        if self.kind == SourceKind.MAILDIR and not self.maildir_path:
            errors["maildir_path"] = "The Maildir directory is required."
        if errors:
            raise ValidationError(errors)

    def _graph_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.graph_mailbox:
            errors["graph_mailbox"] = "Name the mailbox (its address or user id)."
        if (
            self.instance_id
            and not OAuthApp.objects.filter(instance_id=self.instance_id, provider=OAuthProvider.MICROSOFT).exists()
        ):
            errors["kind"] = (
                "Microsoft Graph signs in through the instance's Microsoft OAuth app: configure it first "
                "(client id, secret and tenant, with the Mail.ReadWrite application permission granted)."
            )
        return errors


class SourceReceipt(models.Model):
    """A message a source handed over, by its stable key there (IMAP folder+UIDVALIDITY+UID, POP3 UIDL,
    Maildir unique name). Kept after the audit row is purged so a message left in the mailbox is never
    captured twice."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="receipts")
    key = models.CharField(max_length=255)
    message = models.ForeignKey(
        "inbound.InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="receipt_unique_per_source")]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.key}"


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
    """One row for every message that reached us, written before the source is told the message was taken, and
    carried through processing to an outcome.

    Personal fields (subject, sender, recipients, Message-ID) are encrypted; keyed hashes beside them serve
    look-ups (deduplication by Message-ID, per-address export and erasure).
    """

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="inbound_messages")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    received_at = models.DateTimeField(db_index=True)

    message_id = EncryptedTextField(blank=True, default="")
    # Unique per instance among captured mail (see Meta.constraints); blank when the mail had no Message-ID.
    message_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Keyed hash of the raw content: recognises a message without Message-ID seen again (MTA retry,
    # UIDVALIDITY reset, the same mail through a second source).
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    subject = EncryptedTextField(blank=True, default="")
    sender = EncryptedTextField(blank=True, default="")
    sender_hash = models.CharField(max_length=64, blank=True)  # indexed with the audit list's order (Meta.indexes)
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

    status = models.CharField(  # indexed with the audit list's order (Meta.indexes)
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    report = EncryptedJSONField(default=dict, blank=True, help_text="Each step's verdict and reason.")
    # The issue the message created or commented on, in plain text (an issue key is not personal data): written
    # with the outcome, so the audit can link and search it without decrypting reports.
    issue_key = models.CharField(max_length=64, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    # The worker process holding the claim ("processing"): see inbound.pipeline.claims. Not indexed (see Meta).
    claimed_by = models.CharField(max_length=120, blank=True, default="")
    overruns = models.PositiveSmallIntegerField(
        default=0, help_text="Times processing this message ran past its time budget (twice: an error)."
    )
    # A reply released to wait for a message it replies to (inbound.pipeline.thread_order): that message's id, so
    # whoever finishes it runs the reply at once. Set on a few rows, briefly; indexed only where set.
    waiting_on = models.BigIntegerField(null=True, blank=True, editable=False)
    # When it first had to wait (its wait is bounded from then, not from its capture: after a backlog every reply is
    # old, and waiting matters most then).
    waiting_since = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The model began in the auditing app (migrations auditing 0001-0003) and moved here with its table
        # (inbound 0004): the table keeps its first name, so no row was ever copied.
        db_table = "auditing_inboundmessage"
        ordering = ["-received_at", "-pk"]
        # The audit's actions, each behind its own permission (the admin's own add/change/delete stay off).
        permissions = [
            ("reprocess_inboundmessage", "Can process inbound mail again"),
            ("make_testcase_inboundmessage", "Can make a test case from inbound mail"),
            ("erase_inboundmessage", "Can delete inbound mail (the row and its stored mail, with a reason)"),
        ]
        # No index may cover status, updated_at, claimed_by or overruns: processing changes them per message, and
        # on PostgreSQL such updates are cheap "HOT" updates (no index touched) only while no index covers a changed
        # column (waiting_on's index is partial: only a reply's wait and its end touch it); migration auditing 0003
        # leaves room in each page for them (fillfactor). (The field-level index on
        # status from auditing 0001 became inbound_status_order, status first: the sweep and the backlog read through
        # it, and the audit list filtered by status in its order.)
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
            # The audit's search by issue key. Only rows that wrote to an issue are in it; it makes the one update
            # that finishes such a message a non-HOT one (the claim's updates before it stay HOT).
            models.Index(fields=["issue_key"], condition=~models.Q(issue_key=""), name="inbound_issue_key"),
            # The audit list: its order (newest first, the id breaking ties) and each filter with that order, so a page
            # reads ~100 index entries at any table size (see auditing.paging: no full count either). Ascending: read
            # backwards, a B-tree serves the newest-first order just as well.
            models.Index(fields=["received_at", "id"], name="inbound_audit_order"),
            models.Index(fields=["outcome", "received_at", "id"], name="inbound_outcome_order"),
            models.Index(fields=["instance", "received_at", "id"], name="inbound_instance_order"),
            models.Index(fields=["status", "received_at", "id"], name="inbound_status_order"),
            models.Index(fields=["sender_hash", "received_at", "id"], name="inbound_sender_order"),  # the search
            models.Index(
                fields=["waiting_on"], condition=models.Q(waiting_on__isnull=False), name="inbound_waiting_on"
            ),
        ]

    def __str__(self) -> str:
        return f"inbound #{self.pk} ({self.status}{', ' + self.outcome if self.outcome else ''})"


class HintGrace(models.Model):
    """When a hint for a reason was last sent to a recipient (a keyed hash): at most one per grace period, as
    Mailman's replybot does, so forged senders cannot turn hints into a flood."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="+")
    recipient_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    inbound_id = models.BigIntegerField(null=True, help_text="The message whose hint took the slot (it may retry).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "recipient_hash", "reason"], name="inbound_hint_grace_unique")
        ]

    def __str__(self) -> str:
        return f"hint {self.reason} last sent {self.sent_at:%Y-%m-%d %H:%M}"


class HeartbeatRole(models.TextChoices):
    """Which kind of process beats: a Celery worker (its main process and the pool processes that claim mail) or
    Celery beat (the scheduler)."""

    WORKER = "worker", "Celery worker"
    BEAT = "beat", "Celery beat"


class WorkerHeartbeat(models.Model):
    """A process that is alive: it rewrites ``beat_at`` every few seconds. A processing worker process beats as a
    claim holder (see inbound.pipeline.claims: a claim whose holder's heartbeat is stale is taken over at once); a
    worker's main process and Celery beat beat as their role (inbound.heartbeat, for ``jemh health --role``)."""

    worker = models.CharField(max_length=120, primary_key=True, help_text="host:pid:boot-nonce, or role@host:pid")
    role = models.CharField(max_length=16, choices=HeartbeatRole.choices, default=HeartbeatRole.WORKER)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"worker {self.worker} (last beat {self.beat_at:%Y-%m-%d %H:%M:%S})"
