"""Admin of the instance (the tenant), of the periodic tasks Celery beat runs, and of django-axes' sign-in
throttling (the locked-out attempts, for unlocking)."""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from axes import admin as axes_admin
from axes.conf import settings
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from jemh.admin_secrets import SecretsAdminMixin
from jemh.models import Instance, TrackerKind, new_webhook_token
from jemh.storage import storage_names

_request: ContextVar[HttpRequest | None] = ContextVar("jemh_admin_request", default=None)


def webhook_url(instance: Instance, request: HttpRequest | None = None) -> str:
    """The full URL to paste into Jira's webhook form (the path alone when there is no request to take the host
    from)."""
    path = reverse("jira-webhook", kwargs={"token": instance.jira_webhook_token})
    return request.build_absolute_uri(path) if request is not None else path


class InstanceForm(forms.ModelForm):
    """The instance form. Jira credentials are write-only (see jemh.admin_secrets): typed in, never displayed."""

    class Meta:
        model = Instance
        fields = "__all__"


# Read-only lines other apps add to the instance's page ("Data retention"): (label, function of the instance).
# Registered from their AppConfig.ready(); jemh imports no other app.
INSTANCE_SUMMARIES: list[tuple[str, Callable[[Instance], str]]] = []


@admin.register(Instance)
class InstanceAdmin(SecretsAdminMixin, admin.ModelAdmin):
    extra_secret_fields = ("jira_email",)  # not a credential, but it names the account the token is of
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
                    "blob_storage",
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
        ("Outbound mail", {"fields": ("graph_send_as",)}),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "blob_storage":  # the storages JEMH_BLOB_STORAGES configures (residency)
            choices = [("", "the default storage"), *((name, name) for name in storage_names())]
            return forms.ChoiceField(
                choices=choices, required=False, label=db_field.verbose_name, help_text=db_field.help_text
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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
        request = _request.get()
        if request is None or not self.has_change_permission(request, obj):
            # the token admits deliveries (alone, when no secret is set): a secret, shown only to who may change it
            return "set (shown to users who may change the instance)"
        url = webhook_url(obj, request)
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


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's periodic task admin, its actions behind the change permission (the package's own
    declare none, so a user who may only view tasks could enable, disable or run them)."""

    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().run_tasks(request, queryset)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes' failed sign-ins (unlock by deleting them), with its one action behind the delete permission
    (axes declares none, so a user who may only view attempts could delete the expired ones)."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
# axes registers its logs' admins whether or not it writes them: no empty pages for logs switched off in settings.
if settings.AXES_DISABLE_ACCESS_LOG:
    admin.site.unregister(AccessLog)
if not settings.AXES_ENABLE_ACCESS_FAILURE_LOG:
    admin.site.unregister(AccessFailureLog)
