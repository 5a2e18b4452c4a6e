"""The notification mapping's form: its projects and event kinds as checkboxes (they were JSON text boxes, where
``SUP, OPS`` gave "Enter a valid JSON."), stored as the same JSON lists."""

from __future__ import annotations

import logging
import re
from typing import Any

from django import forms

from jemh.models import Instance
from notifications.choices import EventKind
from notifications.models import NotificationMapping, all_event_kinds
from trackers.registry import get_tracker

log = logging.getLogger(__name__)


def tracker_project_keys(instance: Instance | None) -> tuple[str, ...] | None:
    """The keys of ``instance``'s tracker's projects, or None when they are not known (it is logged)."""
    if instance is None:
        return None
    try:
        return get_tracker(instance).project_keys()
    except Exception as exc:  # the tracker is down or refuses: the form must still open
        log.warning("could not list the projects of instance %s for the admin: %s", instance.pk, exc)
        return None


class ProjectKeysField(forms.CharField):
    """Project keys typed as text (when the tracker cannot list them): separated by commas or spaces."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return list(dict.fromkeys(key.upper() for key in re.split(r"[\s,;]+", text) if key))


class NotificationMappingForm(forms.ModelForm):
    """Set ``vocabulary_instance`` on a subclass (:func:`notification_mapping_form_for`) to offer its projects."""

    vocabulary_instance: Instance | None = None

    event_kinds = forms.MultipleChoiceField(
        choices=EventKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=all_event_kinds,  # the model's default: a declared field does not take it from the model
        help_text="The events that send mail; none ticked: none.",
    )

    class Meta:
        model = NotificationMapping
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "projects" not in self.fields:  # a view-only page has no model fields in the form
            return
        label = self.fields["projects"].label
        keys = tracker_project_keys(self.vocabulary_instance)
        if keys is None:
            self.fields["projects"] = ProjectKeysField(
                required=False, label=label, help_text="Project keys, e.g. SUP, OPS; empty: all projects."
            )
            return
        stored = [key for key in self.initial.get("projects") or [] if key not in keys]
        self.fields["projects"] = forms.MultipleChoiceField(
            choices=[(key, key) for key in (*keys, *stored)],
            widget=forms.CheckboxSelectMultiple,
            required=False,
            label=label,
            help_text="None ticked: all projects.",
        )


def notification_mapping_form_for(instance: Instance | None) -> type[NotificationMappingForm]:
    return type(
        "NotificationMappingForm", (NotificationMappingForm,), {"vocabulary_instance": instance, "__module__": __name__}
    )
