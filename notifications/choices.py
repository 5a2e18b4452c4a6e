"""Named choices of the notifications app (stored values are stable)."""

from __future__ import annotations

from django.db import models


class EventKind(models.TextChoices):
    CREATED = "created", "Issue created"
    UPDATED = "updated", "Issue updated"
    COMMENTED = "commented", "Comment added"
    RESOLVED = "resolved", "Issue resolved"
    DELETED = "deleted", "Issue deleted"


class EventSource(models.TextChoices):
    LOCAL = "local", "Local tracker"
    JIRA = "jira", "Jira webhook"


class EventStatus(models.TextChoices):
    """An issue event's state, in the audit's words: queued, processing, sent, ignored (with the reason) or
    failed. The stored values are older than those words and stay as they are."""

    PENDING = "pending", "Queued (waiting for its batch window)"
    PROCESSING = "processing", "Processing (being turned into mail)"
    NOTIFIED = "notified", "Sent (its mail was made: see the outbound audit)"
    DROPPED = "dropped", "Ignored: no mapping wanted it (payload discarded)"
    IGNORED = "ignored", "Ignored: nobody to notify"
    FAILED = "failed", "Failed (see reason)"


class MailFormat(models.TextChoices):
    BOTH = "both", "HTML with a text alternative"
    HTML = "html", "HTML only"
    TEXT = "text", "Plain text only"


class OutboundKind(models.TextChoices):
    """Why a mail was sent: every mail we send is one of these."""

    NOTIFICATION = "notification", "Notification"
    HINT = "hint", "Hint (why a mail was rejected)"
    FORWARD = "forward", "Forward"
    ALERT = "alert", "Alert to the instance's admins"
    TEST = "test", "Test mail"
    CHAT = "chat", "Chat webhook post (registration, feedback)"


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying (server unavailable)"
    HELD = "held", "Held (hourly sending limit: sent at its next attempt)"
    FAILED = "failed", "Failed"


class DeliveryStatus(models.TextChoices):
    """What became of a Jira webhook delivery we accepted."""

    RECEIVED = "received", "Received (waiting for its task)"
    PROCESSED = "processed", "Processed (became an issue event; body discarded)"
    DROPPED = "dropped", "Dropped: nothing wanted it (body discarded)"
    FAILED = "failed", "Failed (see reason)"
