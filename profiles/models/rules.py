"""Profile rules edited as inlines: filter rules, directive aliases and regex field processors, attachment
exclusions and known fingerprints, workflow advance rules."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from profiles.choices import AliasKind, FilterAction, FilterRuleKind, ProcessorTarget
from profiles.patterns import named_groups
from profiles.validators import validate_directive_name, validate_regex, validate_sha256


class FilterRule(models.Model):
    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="filter_rules")
    kind = models.CharField(max_length=16, choices=FilterRuleKind.choices)
    header_name = models.CharField(max_length=200, blank=True, help_text="For header rules.")
    pattern = models.CharField(
        max_length=500,
        validators=[validate_regex],
        help_text="Regex, case-insensitive. Sender rules: the whole address or the whole domain. Header and "
        "subject rules: found anywhere in the value.",
    )
    action = models.CharField(
        max_length=16,
        choices=FilterAction.choices,
        default=FilterAction.DROP,
        help_text="For header and subject rules (sender exclusions use the profile's sender exclusion action).",
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pattern}"

    def clean(self) -> None:
        if self.kind == FilterRuleKind.HEADER and not self.header_name.strip():
            raise ValidationError({"header_name": "A header rule needs the header's name."})


class DirectiveAlias(models.Model):
    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="aliases")
    kind = models.CharField(max_length=16, choices=AliasKind.choices, default=AliasKind.KEY_VALUE)
    alias = models.CharField(max_length=100, help_text="What senders write (case-insensitive).")
    directive = models.CharField(max_length=100, validators=[validate_directive_name], help_text="The real key.")
    value = models.CharField(max_length=500, blank=True, help_text="The real value (word and value aliases).")

    class Meta:
        ordering = ["kind", "alias"]
        verbose_name_plural = "directive aliases"
        constraints = [
            models.UniqueConstraint(fields=["profile", "kind", "directive", "alias"], name="alias_unique_per_profile"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.directive}={self.value}" if self.value else f"{self.alias} → {self.directive}"

    def clean(self) -> None:
        if self.kind in {AliasKind.KEY_VALUE, AliasKind.VALUE} and not self.value.strip():
            raise ValidationError({"value": "Word and value aliases need the value they stand for."})
        if self.kind == AliasKind.KEY_VALUE and not re.fullmatch(r"[\w.\-]+", self.alias):
            raise ValidationError({"alias": "A word alias is one word (letters, digits, '_', '.', '-')."})


class FieldProcessor(models.Model):
    """An admin-defined regex that turns text of the subject or body into directives."""

    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="field_processors")
    name = models.CharField(max_length=100)
    target = models.CharField(max_length=16, choices=ProcessorTarget.choices, default=ProcessorTarget.BODY)
    pattern = models.CharField(
        max_length=1000,
        validators=[validate_regex],
        help_text="Regex (case-insensitive, multi-line). Named groups become directives of that name; or give a "
        "directive below and the first group (or the whole match) is its value.",
    )
    directive = models.CharField(max_length=100, blank=True)
    strip_match = models.BooleanField(default=False, help_text="Remove the matched text when this processor wins.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.directive:
            validate_directive_name(self.directive)
        elif not named_groups(self.pattern):
            raise ValidationError({"directive": "Give a directive name, or use named groups in the pattern."})


class AttachmentExclusion(models.Model):
    """Attachments matching every condition given here are not added (e.g. images under 10 KB)."""

    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="attachment_exclusions")
    content_type_pattern = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_regex],
        help_text="Regex of the whole type, e.g. image/.*",
    )
    filename_pattern = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_regex],
        help_text="Regex found anywhere in the file name (case-insensitive), e.g. \\.exe$",
    )
    min_size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes, inclusive.")
    max_size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes, inclusive.")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.reason or f"exclusion {self.pk}"

    def clean(self) -> None:
        if not (
            self.content_type_pattern or self.filename_pattern or self.min_size is not None or self.max_size is not None
        ):
            raise ValidationError("Give at least one condition, or this rule would exclude every attachment.")
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            raise ValidationError({"max_size": "The maximum size is below the minimum."})


class KnownFingerprint(models.Model):
    """A file never added as an attachment (e.g. a signature logo), known by its SHA-256."""

    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="known_fingerprints")
    sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["profile", "sha256"], name="fingerprint_unique_per_profile")]

    def __str__(self) -> str:
        return self.note or self.sha256[:12]

    def clean(self) -> None:
        self.sha256 = self.sha256.strip().lower()


class WorkflowAdvanceRule(models.Model):
    """On a comment from mail, move the issue from one status to another."""

    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="workflow_rules")
    from_status = models.CharField(max_length=100)
    to_status = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "from_status"], name="workflow_rule_unique_from_status"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    def clean(self) -> None:
        if self.from_status.strip().lower() == self.to_status.strip().lower():
            raise ValidationError({"to_status": "The target status is the same as the source."})
