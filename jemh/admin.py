from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from jemh.models import Instance, TrackerKind, new_webhook_token

#: Jira credentials and the webhook secret: write-only in the admin (never shown again; an empty field keeps what is
#: stored).
SECRET_FIELDS = ("jira_email", "jira_api_token", "jira_pat", "jira_webhook_secret")
_request: ContextVar[HttpRequest | None] = ContextVar("jemh_admin_request", default=None)


def webhook_url(instance: Instance, request: HttpRequest | None = None) -> str:
    """The full URL to paste into Jira's webhook form (the path alone when there is no request to take the host
    from)."""
    path = reverse("jira-webhook", kwargs={"token": instance.jira_webhook_token})
    return request.build_absolute_uri(path) if request is not None else path


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
    readonly_fields = ("jira_webhook", "retention_status")
    actions: list[str] = ["new_webhook_tokens"]
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
        ("Jira webhook", {"fields": ("jira_webhook", "jira_webhook_secret")}),
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
        ("Outbound limits", {"fields": ("max_mail_per_issue_per_hour", "max_mail_per_hour")}),
    )

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

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reset = _request.set(request)  # the webhook URL is shown with the host the admin is reached at
        try:
            response = super().changeform_view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if render is not None:  # a TemplateResponse renders later, after the request variable is reset
                render()
            return response
        finally:
            _request.reset(reset)

    @admin.display(description="Webhook URL")
    def jira_webhook(self, obj: Instance) -> str:
        if not obj.pk or not obj.jira_webhook_token:
            return "Made when the instance is saved."
        url = webhook_url(obj, _request.get())
        if obj.jira_webhook_secret:
            how = (
                "Paste this URL and the same secret into Jira's webhook form (Jira Cloud: System → WebHooks; "
                "Data Center 10: Administration → System → WebHooks). Every delivery must carry Jira's signature "
                "(X-Hub-Signature, HMAC-SHA256 of the body under the secret); unsigned or wrongly signed ones are "
                "refused."
            )
            return format_html("<code>{}</code><br>{}", url, how)
        warning = (
            "No webhook secret is set: the token in this URL alone admits a delivery. That is weaker: anyone who "
            "learns the URL (e.g. from a proxy log) can post events that send notification mail. Jira Cloud and Jira "
            "Data Center 10 and later sign deliveries: set a secret here and the same one in Jira's webhook form. "
            "Keep the URL private; the action “New webhook URL” replaces it."
        )
        return format_html("<code>{}</code><br><strong>{}</strong>", url, warning)

    @admin.action(
        description="New webhook URL (the old one stops working: paste the new one into Jira)", permissions=["change"]
    )
    def new_webhook_tokens(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        changed = 0
        for instance in queryset.filter(tracker_kind=TrackerKind.JIRA):
            instance.set_webhook_token(new_webhook_token())
            instance.save(update_fields=["jira_webhook_token", "jira_webhook_token_hash"])
            changed += 1
        self.message_user(
            request,
            f"{changed} Jira instance(s) have a new webhook URL: open each and paste it into Jira's webhook form.",
            messages.SUCCESS if changed else messages.WARNING,
        )
