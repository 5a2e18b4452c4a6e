"""Admin forms of profiles: the default-mapping check, profile import, test case upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet

from jemh.models import Instance
from profiles.models import TestCase

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class MappingInlineFormSet(BaseInlineFormSet):
    """A profile has exactly one default project mapping."""

    def clean(self) -> None:
        super().clean()
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        defaults = sum(1 for form in kept if form.cleaned_data.get("is_default"))
        if defaults != 1:
            raise ValidationError(
                "A profile needs exactly one default project mapping (tick 'is default' on one mapping)."
                if defaults == 0
                else "Only one project mapping can be the default."
            )


class ProfileImportForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=Instance.objects.all(), help_text="The instance the profile joins.")
    name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Empty: the name in the file. Must not be taken in the instance.",
    )
    file = forms.FileField(required=False, help_text="A profile export (.json).")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, label="or paste the JSON")

    def __init__(self, *args: Any, instances: QuerySet[Instance] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if instances is not None:  # the user's instances only (jemh.tenancy)
            self.fields["instance"].queryset = instances  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_IMPORT_BYTES:
                raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB: not an export.")
            cleaned["data"] = upload.read()
        elif cleaned.get("text", "").strip():
            cleaned["data"] = cleaned["text"]
        else:
            raise ValidationError("Choose a file or paste the JSON of a profile export.")
        return cleaned


class TestCaseForm(forms.ModelForm):
    upload = forms.FileField(required=False, help_text="A .eml or .txt file; replaces the text above.")

    class Meta:
        model = TestCase
        fields = ("profile", "name", "raw_message", "upload")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "raw_message" in self.fields:  # a view-only page has no model fields in the form
            self.fields["raw_message"].required = False

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        upload = cleaned.get("upload")
        if upload is not None:
            if upload.size > MAX_MESSAGE_BYTES:
                raise ValidationError({"upload": "The file is larger than 25 MB."})
            self.instance.raw_bytes = upload.read()
            cleaned["raw_message"] = self.instance.raw_message
        elif not (cleaned.get("raw_message") or "").strip():
            raise ValidationError({"raw_message": "Paste the message source, or upload a file."})
        return cleaned
