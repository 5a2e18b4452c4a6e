"""The named choices of profile configuration (stored values are stable: they appear in exports)."""

from __future__ import annotations

from django.db import models


class NonCatchAction(models.TextChoices):
    DROP = "drop", "Drop (delete, audited)"
    FORWARD = "forward", "Forward to the forward-to addresses"
    LEAVE = "leave", "Leave for a human (filtered)"


class FilterAction(models.TextChoices):
    DROP = "drop", "Drop (delete, audited)"
    LEAVE = "leave", "Leave for a human (filtered)"
    FORWARD = "forward", "Forward to the forward-to addresses"
    ALLOW = "allow", "Allow (process normally)"


class FilterRuleKind(models.TextChoices):
    HEADER = "header", "Header matches"
    SENDER_INCLUDE = "sender_include", "Sender included (overrides exclusions)"
    SENDER_EXCLUDE = "sender_exclude", "Sender excluded"
    SUBJECT_BLOCK = "subject_block", "Subject blocked"


class MappingRuleKind(models.TextChoices):
    SENDER = "sender", "Sender address or domain"
    RECIPIENT = "recipient", "Recipient address or domain"
    SUBADDRESS = "subaddress", "Sub-address (support+TAG@…)"
    SUBJECT = "subject", "Subject"
    HEADER = "header", "Header"


class ReporterStrategy(models.TextChoices):
    SENDER = "sender", "The sender, when they have an account"
    DEFAULT_REPORTER = "default_reporter", "Always the default reporter"
    EMAIL_ONLY = "email_only", "Always email-only (default reporter + Email Sender fields)"


class AssigneeStrategy(models.TextChoices):
    UNASSIGNED = "unassigned", "Unassigned"
    PROJECT_LEAD = "project_lead", "The project lead"
    FIXED_USER = "fixed_user", "A fixed user"


class OperatingMode(models.TextChoices):
    CREATE_AND_COMMENT = "create_and_comment", "Create and comment"
    CREATE_ONLY = "create_only", "Create only"
    COMMENT_ONLY = "comment_only", "Comment only"


class UnknownSenderAction(models.TextChoices):
    EMAIL_ONLY = "email_only", "Accept as an email-only user (fields and participants)"
    REJECT = "reject", "Reject"


class AddresseeHandling(models.TextChoices):
    IGNORE = "ignore", "Ignore To/Cc people"
    PARTICIPANTS = "participants", "Add To/Cc people as participants"
    WATCHERS = "watchers", "Add To/Cc people with accounts as watchers, the others as participants"


class StrangerAction(models.TextChoices):
    """What becomes of mail that names an existing issue but comes from someone who may not write to it."""

    HOLD = "hold", "Hold it for an agent (filtered, with the reason)"
    NEW_ISSUE = "new_issue", "Create a new issue linked to the one it named"
    REJECT = "reject", "Reject (the sender is told)"


class SenderAuthentication(models.TextChoices):
    """When a sender is matched to their tracker account (the mail's Authentication-Results from a trusted MTA)."""

    REQUIRE = "require", "Require: only mail authenticated for the sender's domain is matched to an account"
    PREFER = "prefer", "Prefer: also match mail without any verdict, with an e-mail-only sender's rights"
    IGNORE = "ignore", "Ignore: trust the From address (only behind an MTA that rejects forged mail)"


class AssociationStrategy(models.TextChoices):
    DIRECTIVE = "directive", "@issueKey= directive"
    FOREIGN_KEY = "foreign_key", "Foreign key regex"
    SUBJECT_KEY = "subject_key", "Issue key in the subject"
    OWN_MESSAGE_ID = "own_message_id", "Our own Message-IDs and reply address tokens"
    THREAD_HEADERS = "thread_headers", "In-Reply-To / References against stored Message-IDs"


class ResolvedIssueAction(models.TextChoices):
    REJECT = "reject", "Reject the comment"
    CREATE_LINKED = "create_linked", "Create a new issue linked to the old one"


class CommentOnlyNoMatchAction(models.TextChoices):
    REJECT = "reject", "Reject (the sender is told)"
    DROP = "drop", "Drop"
    FORWARD = "forward", "Forward to the forward-to addresses"


class LimitAction(models.TextChoices):
    REJECT = "reject", "Reject"
    FORWARD = "forward", "Forward to the forward-to addresses"


class BodyTooLargeAction(models.TextChoices):
    TRUNCATE = "truncate", "Truncate, the full body becomes an attachment"
    REJECT = "reject", "Reject"


class DirectiveProcessor(models.TextChoices):
    AT_PREFIX = "at_prefix", "@key=value lines at the top of the body"
    SUBJECT_HASH = "subject_hash", "#key=value in the subject"
    COLON = "colon", "key: value lines at the top of the body"
    HEADERS = "headers", "X-JEMH-* headers"
    REGEX = "regex", "Regex field processors"


class AliasKind(models.TextChoices):
    KEY_VALUE = "key_value", "Word → key=value (e.g. bug → issueType=bug)"
    KEY = "key", "Key → key (e.g. type → issueType)"
    VALUE = "value", "Value of a key → value (e.g. priority urgent → Highest)"


class ProcessorTarget(models.TextChoices):
    SUBJECT = "subject", "Subject"
    BODY = "body", "Body"


class HintReason(models.TextChoices):
    RESOLVED_TOO_LONG = "resolved_too_long", "Comment on an issue resolved too long ago"
    COMMENT_ONLY_NO_MATCH = "comment_only_no_match", "Comment-only mode and no issue found"
    NOT_PARTICIPANT = "not_participant", "Sender is not a participant of the issue"
    UNKNOWN_SENDER = "unknown_sender", "Sender has no account and such senders are rejected"
    COMMENT_LIMIT = "comment_limit", "Too many comments on the issue"
    COMMENT_RATE = "comment_rate", "Too many comments on the issue in the last hour"
    BODY_TOO_LARGE = "body_too_large", "Message body too large"
    NOT_ALLOWED_TO_WRITE = "not_allowed_to_write", "Sender may not write to the issue the mail names"
