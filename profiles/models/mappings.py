"""Project mappings (one default per profile, further ones selected by rules) and their rules."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from profiles import inheritance
from profiles.choices import (
    AddresseeHandling,
    AssigneeStrategy,
    MappingRuleKind,
    OperatingMode,
    ReporterStrategy,
    StrangerAction,
    UnknownSenderAction,
)
from profiles.validators import EXPLICITLY_NONE, validate_regex, validate_regex_lines

INHERIT_HELP = "Empty: inherited from the default mapping."
_INHERIT = INHERIT_HELP
_LIST_HELP = f"One regex per line. {_INHERIT} A line {EXPLICITLY_NONE} means none (not inherited)."


class ProjectMapping(models.Model):
    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False, help_text="Used when no rule of another mapping matches.")
    project_key = models.CharField(max_length=50, blank=True, help_text=_INHERIT)
    issue_type = models.CharField(max_length=100, blank=True, help_text=_INHERIT)
    priority = models.CharField(max_length=100, blank=True, help_text=f"{_INHERIT} On the default: the tracker's.")
    default_summary = models.CharField(max_length=255, blank=True, help_text=f"Used for an empty subject. {_INHERIT}")
    reporter_strategy = models.CharField(
        max_length=32,
        blank=True,
        choices=ReporterStrategy.choices,
        help_text=_INHERIT,
    )
    default_reporter = models.CharField(
        max_length=200,
        blank=True,
        help_text=f"Tracker user (name or email) reporting for others. {_INHERIT}",
    )
    assignee_strategy = models.CharField(
        max_length=32,
        blank=True,
        choices=AssigneeStrategy.choices,
        help_text=_INHERIT,
    )
    assignee = models.CharField(max_length=200, blank=True, help_text=f"For the fixed-user strategy. {_INHERIT}")
    operating_mode = models.CharField(max_length=32, blank=True, choices=OperatingMode.choices, help_text=_INHERIT)
    unknown_sender_action = models.CharField(
        max_length=32,
        blank=True,
        choices=UnknownSenderAction.choices,
        help_text=f"Senders without an account. {_INHERIT}",
    )
    addressee_handling = models.CharField(
        max_length=32,
        blank=True,
        choices=AddresseeHandling.choices,
        help_text=f"To/Cc people. {_INHERIT}",
    )
    stranger_action = models.CharField(
        max_length=32,
        blank=True,
        choices=StrangerAction.choices,
        help_text="Mail naming an existing issue from someone who may not write to it (not its reporter, a "
        f"participant or watcher, nor an account allowed to comment in the project). {_INHERIT} Unset "
        "everywhere: hold.",
    )
    sender_becomes_participant = models.BooleanField(
        null=True,
        blank=True,
        help_text="Add an e-mail-only sender to the issue's participants because they wrote. "
        f"{_INHERIT} Unset everywhere: no.",
    )
    addressees_per_message = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many To/Cc people of one message become participants or watchers. "
        f"{_INHERIT} Unset everywhere: {inheritance.FALLBACKS['addressees_per_message']}.",
    )
    participants_per_issue = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Mail adds no participants to an issue that has this many. "
        f"{_INHERIT} Unset everywhere: {inheritance.FALLBACKS['participants_per_issue']}.",
    )
    subject_cleanups = models.TextField(null=True, blank=True, validators=[validate_regex_lines], help_text=_LIST_HELP)
    body_cleanups = models.TextField(null=True, blank=True, validators=[validate_regex_lines], help_text=_LIST_HELP)
    body_delimiters = models.TextField(
        null=True,
        blank=True,
        validators=[validate_regex_lines],
        help_text=f"Regexes of a line after which the body is cut (signatures, quoted mail). {_LIST_HELP}",
    )

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile"],
                condition=Q(is_default=True),
                name="mapping_one_default_per_profile",
                violation_error_message="This profile already has a default mapping.",
            ),
            models.UniqueConstraint(fields=["profile", "name"], name="mapping_unique_name_per_profile"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (default)" if self.is_default else self.name

    def own_values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in inheritance.INHERITABLE_FIELDS}

    def clean(self) -> None:
        for name in inheritance.LIST_FIELDS:  # the admin's empty textarea means "inherit"
            if getattr(self, name) is not None and not getattr(self, name).strip():
                setattr(self, name, None)
        if self.is_default:
            problems = inheritance.missing_requirements(inheritance.resolve(self.own_values(), {})[0])
        else:
            default = self._default_values()
            if default is None:
                return  # the profile's default mapping is being written in the same form; checked there
            problems = inheritance.missing_requirements(inheritance.resolve(self.own_values(), default)[0])
            problems = {name: f"{message} (nor does the default mapping)" for name, message in problems.items()}
        if problems:
            raise ValidationError(problems)

    def _default_values(self) -> dict[str, object] | None:
        if not self.profile_id:
            return None
        default = ProjectMapping.objects.filter(profile_id=self.profile_id, is_default=True).first()
        return default.own_values() if default else None


class MappingRule(models.Model):
    """Selects its mapping when it matches; rules of all mappings run by priority (lowest first)."""

    mapping = models.ForeignKey(ProjectMapping, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=MappingRuleKind.choices)
    header_name = models.CharField(max_length=200, blank=True, help_text="For header rules.")
    pattern = models.CharField(
        max_length=500,
        validators=[validate_regex],
        help_text="Regex, case-insensitive. Sender/recipient: the whole address or the whole domain. Sub-address: "
        "the whole tag after '+'. Subject and header: found anywhere in the value.",
    )
    priority = models.IntegerField(default=100, help_text="Lower runs first; the first matching rule wins.")

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        target = f"{self.header_name} " if self.kind == MappingRuleKind.HEADER else ""
        return f"{self.get_kind_display()} {target}~ {self.pattern}"

    def clean(self) -> None:
        if self.kind == MappingRuleKind.HEADER and not self.header_name.strip():
            raise ValidationError({"header_name": "A header rule needs the header's name."})
        if self.mapping_id and self.mapping.is_default:
            raise ValidationError("The default mapping has no rules: it applies when no other mapping's rule matches.")
