"""Admin forms of the local tracker: labels as text, status moves checked against the workflow."""

from __future__ import annotations

from typing import Any

from django import forms

from trackers.local.services import clean_labels
from trackers.models import Issue
from trackers.workflow import DONE_STATUSES, Resolution, Status, allowed_targets, find_transition


class IssueAdminForm(forms.ModelForm):
    labels = forms.CharField(required=False, help_text="Comma-separated; spaces inside a label become _.")
    add_attachment = forms.FileField(required=False, help_text="Stored encrypted.")

    class Meta:
        model = Issue
        fields = [
            "project",
            "summary",
            "description",
            "issue_type",
            "priority",
            "status",
            "resolution",
            "reporter",
            "assignee",
            "labels",
            "watchers",
            "custom_fields",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored_status = self.instance.status if self.instance.pk else None
        if self.instance.pk:
            self.initial["labels"] = ", ".join(self.instance.labels or [])
            targets = allowed_targets(self.instance.status)
            status_help = f"From {self.instance.status} the workflow allows: {', '.join(targets) or 'nothing'}."
        else:
            self.initial["labels"] = ""
            status_help = "New issues start Open."
        if "status" in self.fields:  # a view-only page has no model fields in the form
            self.fields["status"].help_text = status_help
        if "resolution" in self.fields:
            self.fields[
                "resolution"
            ].help_text = "Used when moving to Resolved or Closed (default Done); cleared when reopened."

    def clean_labels(self) -> list[str]:
        return clean_labels((self.cleaned_data.get("labels") or "").split(","))

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self.stored_status is None:
            if status != Status.OPEN:
                raise forms.ValidationError("A new issue starts Open; move it on after saving.")
            return status
        if status != self.stored_status and find_transition(self.stored_status, status) is None:
            targets = ", ".join(allowed_targets(self.stored_status)) or "nothing"
            raise forms.ValidationError(
                f"The workflow does not allow {self.stored_status} → {status}; allowed: {targets}."
            )
        return status

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        status, resolution = cleaned.get("status"), cleaned.get("resolution")
        if status and status not in DONE_STATUSES and resolution:
            self.add_error("resolution", "Only a Resolved or Closed issue has a resolution.")
        if status in DONE_STATUSES and not resolution:
            cleaned["resolution"] = Resolution.DONE
        return cleaned
