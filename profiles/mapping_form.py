"""The project mapping's form: the tracker's projects, issue types and priorities as choices (when the tracker can
say), "inherited" wording only on mappings that inherit, and the values a new profile's default mapping starts with."""

from __future__ import annotations

from typing import Any

from django import forms

from jemh.models import Instance
from profiles import inheritance, vocabulary
from profiles.models import ProjectMapping
from profiles.models.mappings import INHERIT_HELP

CHOICE_FIELDS = ("project_key", "issue_type", "priority")


def default_mapping_help(text: Any) -> str:
    """A field's help on the default mapping, which inherits from nothing: what an empty value means there."""
    text = str(text).replace(INHERIT_HELP, "").replace("On the default: the tracker's.", "Empty: the tracker's.")
    text = text.replace("Unset everywhere:", "Empty:").replace("means none (not inherited)", "means none")
    return " ".join(text.split())


def default_mapping_initial(instance: Instance | None) -> dict[str, Any]:
    """What a new profile's default mapping starts with: every required value set to the usual choice, the
    project, issue type and reporter taken from the tracker's first project when it can say."""
    projects = vocabulary.projects(instance) or []
    first = next((p for p in projects if p.lead), projects[0] if projects else None)  # a lead can report
    return {
        "name": "Default",
        "is_default": True,
        "project_key": first.key if first else "",
        "issue_type": first.default_issue_type if first else "",
        "default_summary": "(no subject)",
        "reporter_strategy": "sender",
        "default_reporter": first.lead if first else "",
        "assignee_strategy": "unassigned",
        "operating_mode": "create_and_comment",
        "unknown_sender_action": "email_only",
        "addressee_handling": "participants",
    }


def _choices(values: list[tuple[str, str]], current: Any, empty: str) -> list[tuple[str, str]]:
    known = {value for value, _ in values}
    extra = [(current, f"{current} (not in the tracker)")] if current and current not in known else []
    return [("", empty), *values, *extra]


class ProjectMappingForm(forms.ModelForm):
    """A mapping's form; its subclass made by :func:`mapping_form_for` offers an instance's tracker's values."""

    vocabulary_projects: list[vocabulary.ProjectVocabulary] | None = None  # asked once per form class

    class Meta:
        model = ProjectMapping
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "is_default" not in self.fields:  # a view-only page has no model fields in the form
            return
        is_default = self.instance.is_default if self.instance.pk else bool(self["is_default"].value())
        if is_default:
            for name in inheritance.INHERITABLE_FIELDS:
                if name in self.fields:
                    self.fields[name].help_text = default_mapping_help(self.fields[name].help_text)
        self.projects = self.vocabulary_projects
        if self.projects:
            self._offer_choices(is_default)

    def _offer_choices(self, is_default: bool) -> None:
        assert self.projects is not None
        empty = "(the tracker's default)" if is_default else "(inherited from the default mapping)"
        offered = {
            "project_key": [(p.key, f"{p.key} — {p.name}") for p in self.projects],
            "issue_type": [(v, v) for v in dict.fromkeys(t for p in self.projects for t in p.issue_types)],
            "priority": [(v, v) for v in dict.fromkeys(t for p in self.projects for t in p.priorities)],
        }
        for name in CHOICE_FIELDS:
            field = self.fields.get(name)
            if field is None:
                continue
            label = "(choose one)" if is_default and name != "priority" else empty
            self.fields[name] = forms.ChoiceField(
                choices=_choices(offered[name], self.initial.get(name), label),  # the stored value, not the posted
                required=False,
                label=field.label,
                help_text=field.help_text,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        project = next((p for p in self.projects or [] if p.key == cleaned.get("project_key")), None)
        issue_type = cleaned.get("issue_type")
        if project is not None and issue_type and issue_type not in project.issue_types:
            self.add_error(
                "issue_type",
                f"{project.key} has no issue type {issue_type!r}; it has: {', '.join(project.issue_types)}.",
            )
        return cleaned


def mapping_form_for(instance: Instance | None) -> type[ProjectMappingForm]:
    """The mapping form offering ``instance``'s tracker's projects and values (free text when None or when the
    tracker cannot say). The tracker is asked here, once for all the forms of a page."""
    projects = vocabulary.projects(instance)
    return type("ProjectMappingForm", (ProjectMappingForm,), {"vocabulary_projects": projects, "__module__": __name__})
