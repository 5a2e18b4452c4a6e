"""Profile: what a mail source is processed with; its catch addresses and hint texts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from profiles.choices import (
    AssociationStrategy,
    BodyTooLargeAction,
    CommentOnlyNoMatchAction,
    FilterAction,
    HintReason,
    LimitAction,
    NonCatchAction,
    ResolvedIssueAction,
    SenderAuthentication,
)
from profiles.config import DEFAULT_EMAIL_ONLY_DIRECTIVES
from profiles.patterns import group_count
from profiles.validators import (
    validate_address_lines,
    validate_directive_name_lines,
    validate_harmless_directive_lines,
    validate_regex,
)

DEFAULT_ASSOCIATION_ORDER = ",".join(AssociationStrategy.values)
DEFAULT_SUBJECT_KEY_PATTERN = r"[A-Z][A-Z0-9_]+-\d+"


def validate_association_order(value: str) -> None:
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = set(AssociationStrategy.values)
    unknown = [name for name in names if name not in known]
    if unknown:
        known_names = ", ".join(AssociationStrategy.values)
        raise ValidationError(f"unknown strategies {', '.join(unknown)}; known: {known_names}")
    if len(set(names)) != len(names):
        raise ValidationError("each strategy may appear only once")


class Profile(models.Model):
    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="profiles")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)

    # Catch addresses (inline) and what happens to the rest.
    non_catch_action = models.CharField(
        max_length=16,
        choices=NonCatchAction.choices,
        default=NonCatchAction.LEAVE,
        help_text="What to do with mail to none of the catch addresses.",
    )
    forward_to = models.TextField(
        blank=True,
        validators=[validate_address_lines],
        help_text="Human contacts told about failures and forwarded mail; one address per line.",
    )
    reply_address = models.EmailField(
        blank=True,
        help_text="The address replies go to (e.g. support@example.com); notifications use sub-addressed tokens "
        "of it (support+t-TOKEN@example.com). It is also treated as a catch address.",
    )

    # Hints.
    send_hints = models.BooleanField(
        default=True,
        help_text="Tell senders why their message was rejected (never to auto-replies, bounces or lists, and only "
        "to an authenticated sender address: never to a Reply-To alone).",
    )
    hint_grace_hours = models.PositiveIntegerField(
        default=24,
        help_text="At most one hint per recipient and reason in this many hours (0: no limit).",
    )

    # Content.
    comment_reply_text_only = models.BooleanField(
        default=True,
        help_text="Comments keep only the new reply text, without the quoted history.",
    )
    body_to_markdown = models.BooleanField(default=True, help_text="Convert bodies to Markdown.")

    # Filters.
    own_mail_action = models.CharField(
        max_length=16,
        choices=FilterAction.choices,
        default=FilterAction.DROP,
        help_text="Our own mail coming back (a loop).",
    )
    auto_reply_action = models.CharField(max_length=16, choices=FilterAction.choices, default=FilterAction.DROP)
    bounce_action = models.CharField(max_length=16, choices=FilterAction.choices, default=FilterAction.DROP)
    bulk_action = models.CharField(
        max_length=16,
        choices=FilterAction.choices,
        default=FilterAction.DROP,
        help_text="Bulk and mailing-list mail.",
    )
    spam_action = models.CharField(max_length=16, choices=FilterAction.choices, default=FilterAction.LEAVE)
    sender_exclusion_action = models.CharField(
        max_length=16,
        choices=FilterAction.choices,
        default=FilterAction.DROP,
        help_text="For senders matching an exclusion filter rule (and no inclusion rule).",
    )
    flood_limit_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=60,
        help_text="Messages per sender in a sliding hour above which the flood action applies; empty: no limit.",
    )
    flood_action = models.CharField(max_length=16, choices=FilterAction.choices, default=FilterAction.LEAVE)

    # Directives.
    directives_on_create = models.BooleanField(default=True, help_text="Apply directives when creating issues.")
    directives_on_comment = models.BooleanField(default=True, help_text="Apply directives when commenting.")
    processor_at_prefix = models.BooleanField(default=True, verbose_name="@key=value lines at the top of the body")
    processor_subject_hash = models.BooleanField(default=True, verbose_name="#key=value in the subject")
    processor_colon = models.BooleanField(default=False, verbose_name="key: value lines at the top of the body")
    processor_headers = models.BooleanField(default=True, verbose_name="X-JEMH-* headers")
    processor_regex = models.BooleanField(default=True, verbose_name="regex field processors")
    directive_allow_list = models.TextField(
        blank=True,
        validators=[validate_directive_name_lines],
        help_text="Only these directives are applied (one name per line); empty: all but the blocked ones.",
    )
    directive_block_list = models.TextField(
        blank=True,
        validators=[validate_directive_name_lines],
        help_text="Never applied; one name per line.",
    )
    directives_within_sender_rights = models.BooleanField(
        default=True,
        help_text="A directive never does what the sender could not do in the tracker themself: an account "
        "holder's directives are checked against their permissions in the project; e-mail-only and "
        "unauthenticated senders may use only the directives below.",
    )
    email_only_directives = models.TextField(
        blank=True,
        default="\n".join(DEFAULT_EMAIL_ONLY_DIRECTIVES),
        validators=[validate_harmless_directive_lines],
        help_text="The directives e-mail-only and unauthenticated senders may use (one per line). Nothing that "
        "names a person, project, security level or custom field may be listed.",
    )

    # Sender authentication.
    sender_authentication = models.CharField(
        max_length=16,
        choices=SenderAuthentication.choices,
        default=SenderAuthentication.REQUIRE,
        help_text="When a sender is matched to their account. The verdict comes only from Authentication-Results "
        "headers added by the source's trusted authserv-ids (your own MTA): a source that trusts none "
        "authenticates nobody, so under 'require' every sender is e-mail-only.",
    )

    # Issue association.
    association_order = models.CharField(
        max_length=200,
        default=DEFAULT_ASSOCIATION_ORDER,
        validators=[validate_association_order],
        help_text=f"Comma-separated order of strategies: {DEFAULT_ASSOCIATION_ORDER}.",
    )
    associate_by_directive = models.BooleanField(default=True, verbose_name="by @issueKey= directive")
    associate_by_foreign_key = models.BooleanField(default=False, verbose_name="by foreign key regex")
    associate_by_subject_key = models.BooleanField(default=True, verbose_name="by issue key in the subject")
    associate_by_own_message_id = models.BooleanField(
        default=True,
        verbose_name="by our own Message-IDs and reply tokens",
    )
    associate_by_thread_headers = models.BooleanField(default=True, verbose_name="by In-Reply-To / References")
    use_in_reply_to = models.BooleanField(default=True, verbose_name="use In-Reply-To")
    use_references = models.BooleanField(default=True, verbose_name="use References")
    subject_key_pattern = models.CharField(
        max_length=500,
        default=DEFAULT_SUBJECT_KEY_PATTERN,
        validators=[validate_regex],
        help_text="Regex of an issue key in the subject.",
    )
    foreign_key_pattern = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_regex],
        help_text="Regex finding another system's reference in the subject or body; its first group is the key.",
    )
    foreign_key_field = models.CharField(
        max_length=200,
        blank=True,
        help_text="Custom field holding the foreign key on issues.",
    )

    # Rejection rules.
    resolved_reject_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Comments on issues resolved more than this many days ago are handled by the action below; "
        "empty: always accepted.",
    )
    resolved_action = models.CharField(
        max_length=16,
        choices=ResolvedIssueAction.choices,
        default=ResolvedIssueAction.REJECT,
    )
    comment_only_no_match_action = models.CharField(
        max_length=16,
        choices=CommentOnlyNoMatchAction.choices,
        default=CommentOnlyNoMatchAction.REJECT,
        help_text="Comment-only mode and no issue found.",
    )
    participants_only = models.BooleanField(
        default=False,
        help_text="Only the reporter, email participants and watchers may comment by mail.",
    )

    # Loop limits.
    max_comments_per_issue = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=50,
        help_text="Comments from mail per issue; empty: no limit.",
    )
    comment_limit_action = models.CharField(max_length=16, choices=LimitAction.choices, default=LimitAction.REJECT)
    max_comments_per_issue_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=20,
        help_text="Comments from mail per issue in a sliding hour; empty: no limit.",
    )
    comment_rate_action = models.CharField(max_length=16, choices=LimitAction.choices, default=LimitAction.REJECT)
    max_body_chars = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=100_000,
        help_text="Characters of a body; empty: no limit.",
    )
    body_too_large_action = models.CharField(
        max_length=16,
        choices=BodyTooLargeAction.choices,
        default=BodyTooLargeAction.TRUNCATE,
    )

    # Attachments (exclusions and fingerprints are inlines).
    drop_duplicate_attachments = models.BooleanField(
        default=True,
        help_text="Drop an attachment whose SHA-256 is already on the issue.",
    )
    keep_inline_images = models.BooleanField(
        default=True,
        help_text="Keep inline images as attachments referenced from the body.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instance__name", "name"]
        constraints = [models.UniqueConstraint(fields=["instance", "name"], name="profile_unique_name_per_instance")]
        permissions = [("export_profile_with_mail", "Can export a profile with its test cases (contains mail)")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.pk is not None and self.sources.exclude(instance_id=self.instance_id).exists():
            errors["instance"] = "Sources of another instance use this profile: a profile serves its own instance only."
        if self.associate_by_foreign_key and not self.foreign_key_pattern:
            errors["foreign_key_pattern"] = "Association by foreign key is on: give the regex."
        if self.foreign_key_pattern and group_count(self.foreign_key_pattern) == 0:
            errors["foreign_key_pattern"] = "The regex needs a group: its first group is the foreign key."
        needs_forward = {
            "non_catch_action": self.non_catch_action,
            "own_mail_action": self.own_mail_action,
            "auto_reply_action": self.auto_reply_action,
            "bounce_action": self.bounce_action,
            "bulk_action": self.bulk_action,
            "spam_action": self.spam_action,
            "sender_exclusion_action": self.sender_exclusion_action,
            "flood_action": self.flood_action,
            "comment_only_no_match_action": self.comment_only_no_match_action,
            "comment_limit_action": self.comment_limit_action,
            "comment_rate_action": self.comment_rate_action,
        }
        if not self.forward_to.strip():
            for field, action in needs_forward.items():
                if action == "forward":
                    errors[field] = "Forwarding needs at least one forward-to address."
        if errors:
            raise ValidationError(errors)


class CatchAddress(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="catch_addresses")
    address = models.CharField(
        max_length=500,
        help_text="An address (support@example.com; sub-addresses support+x@ match too) or a regex.",
    )
    is_regex = models.BooleanField(default=False, help_text="The address is a regex matched against the whole address.")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "catch addresses"

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        if self.is_regex:
            try:
                validate_regex(self.address)
            except ValidationError as exc:
                raise ValidationError({"address": exc.messages}) from exc
        elif "@" not in self.address:
            raise ValidationError({"address": "Give a full address (name@domain), or tick 'is regex'."})


class Hint(models.Model):
    """A hint text for one rejection reason; reasons without a row use the built-in polite default."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="hints")
    reason = models.CharField(max_length=32, choices=HintReason.choices)
    enabled = models.BooleanField(default=True)
    subject = models.CharField(max_length=300, blank=True, help_text="Empty: the default subject.")
    text = models.TextField(
        blank=True,
        help_text="Empty: the default text. Placeholders: {issue_key} {subject} {days} {limit} {sender}.",
    )

    class Meta:
        ordering = ["reason"]
        constraints = [models.UniqueConstraint(fields=["profile", "reason"], name="hint_unique_reason_per_profile")]

    def __str__(self) -> str:
        return self.get_reason_display()
