from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from jemh.models import Instance

#: Jira credentials: write-only in the admin (never shown again; an empty field keeps what is stored).
SECRET_FIELDS = ("jira_email", "jira_api_token", "jira_pat")


class InstanceForm(forms.ModelForm):
    """The instance form: Jira credentials are typed in, never displayed; left empty, the stored value stays."""

    class Meta:
        model = Instance
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
                self.initial[name] = ""
                stored = bool(self.instance.pk and getattr(self.instance, name))
                self.fields[name].help_text = f"{'set' if stored else 'not set'}. {self.fields[name].help_text}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)  # empty: keep the stored secret
        return cleaned


# Read-only lines other apps add to the instance's page ("Data retention"): (label, function of the instance).
# Registered from their AppConfig.ready(); jemh imports no other app.
INSTANCE_SUMMARIES: list[tuple[str, Callable[[Instance], str]]] = []


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    form = InstanceForm
    list_display = ("name", "tracker_kind", "base_url", "jira_credentials", "store_raw_mail", "raw_mail_retention_days")
    list_filter = ("tracker_kind", "store_raw_mail")
    search_fields = ("name", "base_url")
    filter_horizontal = ("admins",)
    fieldsets = (
        (None, {"fields": ("name", "tracker_kind", "base_url", "admins")}),
        (
            "Jira connection",
            {"fields": ("jira_deployment", "jira_email", "jira_api_token", "jira_pat", "jira_max_concurrency")},
        ),
        (
            "Data retention",
            {
                "fields": (
                    "store_raw_mail",
                    "store_outbound_mail",
                    "raw_mail_retention_days",
                    "audit_retention_days",
                    "failure_retention_days",
                    "event_retention_days",
                    "outbound_retention_days",
                    "support_flag_days",
                    "retention_status",
                )
            },
        ),
    )
    readonly_fields = ("retention_status",)

    @admin.display(description="Purge")
    def retention_status(self, obj: Instance) -> str:
        if not obj.pk:
            return "-"
        return (
            format_html_join(
                mark_safe("<br>"), "{}: {}", ((label, summary(obj)) for label, summary in INSTANCE_SUMMARIES)
            )
            or "-"
        )

    @admin.display(description="Jira credentials")
    def jira_credentials(self, obj: Instance) -> str:
        if obj.tracker_kind != "jira":
            return "-"
        return "set" if obj.jira_credentials_set else "not set"
