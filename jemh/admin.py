"""Admin of the instance (the tenant), of the periodic tasks Celery beat runs, and of django-axes' sign-in
throttling (the locked-out attempts, for unlocking)."""

from collections.abc import Callable

from axes import admin as axes_admin
from axes.conf import settings
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from jemh.admin_secrets import SecretsAdminMixin
from jemh.models import Instance


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
        ("Outbound limits", {"fields": ("max_mail_per_issue_per_hour", "max_mail_per_hour")}),
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
