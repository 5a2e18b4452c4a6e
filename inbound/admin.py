"""Admin of inbound mail sources (configuration, health at a glance, "test connection" and "poll now") and of
test cases (``profiles.TestCase``: raw mail an admin runs through the pipeline under a profile)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from inbound import (
    health,
    instance_admin,  # noqa: F401  (registers the Instance admin with the tracker's actions)
)
from inbound.models import Source
from inbound.oauth_admin import OAuthSignInAdminMixin
from inbound.pipeline.report_table import report_table
from inbound.pipeline.testcases import run_test_case
from inbound.retrieval import check_connection, poll
from jemh.admin_secrets import SecretsAdminMixin
from profiles.forms import TestCaseForm
from profiles.models import TestCase
from trackers.registry import issue_url


class SourceForm(forms.ModelForm):
    """The source form. The password is write-only (see jemh.admin_secrets); OAuth tokens are never edited here
    (the sign-in writes them)."""

    class Meta:
        model = Source
        exclude = [
            "oauth_access_token",
            "oauth_refresh_token",
            "oauth_token_expires_at",
            "oauth_account",
            "oauth_connected_at",
            "oauth_refreshed_at",
        ]


@admin.register(Source)
class SourceAdmin(SecretsAdminMixin, OAuthSignInAdminMixin, admin.ModelAdmin):
    form = SourceForm
    list_display = [
        "name",
        "instance",
        "kind",
        "enabled",
        "health_state",
        "last_success_at",
        "short_error",
        "consecutive_failures",
        "next_poll",
        "captured_today",
    ]
    list_filter = ["kind", "enabled", "instance"]
    search_fields = ["name", "host", "username"]
    actions = ["test_connection", "poll_now", "enable_and_reset"]
    readonly_fields = [
        "health_state",
        "last_poll_at",
        "last_success_at",
        "last_error_text",
        "last_error_at",
        "consecutive_failures",
        "failing_since",
        "next_poll",
        "captured_today",
        "disabled_reason",
        "uidvalidity",
        "oauth_connection",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["instance", "name", "kind", "enabled", "profile", "trusted_authserv_ids"]}),
        (
            "Server",
            {"fields": ["host", "port", "security", "auth_method", "username", "password"]},
        ),
        (
            "OAuth (Gmail, Microsoft 365)",
            {
                "fields": [
                    "oauth_provider",
                    "sasl_mechanism",
                    "oauth_connection",
                    "send_notifications",
                    "smtp_host",
                    "smtp_port",
                    "smtp_security",
                ]
            },
        ),
        ("Reading", {"fields": ["folder", "read_strategy", "move_to", "delete_after_capture", "maildir_path"]}),
        ("Schedule and limits", {"fields": ["poll_interval", "batch_limit", "max_message_size"]}),
        (
            "Health",
            {
                "fields": [
                    "health_state",
                    "last_poll_at",
                    "last_success_at",
                    "last_error_text",
                    "last_error_at",
                    "consecutive_failures",
                    "failing_since",
                    "next_poll",
                    "captured_today",
                    "disabled_reason",
                    "uidvalidity",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        return (
            super()
            .get_queryset(request)
            .select_related("instance")
            .annotate(captured_today_count=Count("messages", filter=Q(messages__received_at__gte=start)))
        )

    @admin.display(description="health")
    def health_state(self, source: Source) -> str:
        if not source.enabled:
            return "disabled"
        if not source.is_polled:
            return "delivered by the MTA"
        if source.consecutive_failures:
            return f"failing ({source.consecutive_failures} in a row)"
        return "ok" if source.last_success_at else "not polled yet"

    @admin.display(description="last error")
    def short_error(self, source: Source) -> str:
        text = source.last_error or ""
        return text if len(text) <= 80 else text[:77] + "..."

    @admin.display(description="last error (server's words)")
    def last_error_text(self, source: Source) -> str:
        return source.last_error or "-"

    @admin.display(description="next poll")
    def next_poll(self, source: Source) -> Any:
        return health.next_poll(source) or "-"

    @admin.display(description="captured today")
    def captured_today(self, source: Source) -> int:
        counted = getattr(source, "captured_today_count", None)
        if counted is None:
            start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            counted = source.messages.filter(received_at__gte=start).count()
        return counted

    def save_model(self, request: HttpRequest, obj: Source, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "enabled" in form.changed_data and obj.enabled:
            health.reset(obj)

    @admin.action(description="Test connection (shows what the server said)", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            if not source.is_polled:
                self.message_user(
                    request,
                    format_html(
                        "{}: mail is piped in by the MTA; configure it to run <code>python manage.py jemh deliver "
                        "--source {}</code>.",
                        source.name,
                        source.name,
                    ),
                    messages.INFO,
                )
                continue
            ok, said = check_connection(source)
            self.message_user(request, f"{source.name}: {said}", messages.SUCCESS if ok else messages.ERROR)

    @admin.action(description="Poll now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            result = poll(source.pk, force=True)
            if result.status == "ok":
                self.message_user(
                    request,
                    f"{source.name}: {result.captured} captured, {result.duplicates} "
                    f"duplicates, {result.rejected_too_large} too large"
                    f"{'; more waiting' if result.more_pending else ''}.",
                    messages.SUCCESS,
                )
            else:
                level = messages.ERROR if result.status == "failed" else messages.WARNING
                self.message_user(request, f"{source.name}: {result.status}: {result.detail}", level)

    @admin.action(description="Enable and forget past failures", permissions=["change"])
    def enable_and_reset(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source.enabled = True
            source.save(update_fields=["enabled"])
            health.reset(source)
        self.message_user(request, f"{queryset.count()} source(s) enabled.", messages.SUCCESS)


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    form = TestCaseForm
    list_display = ("name", "profile", "created_at")
    list_filter = ("profile__instance", "profile")
    search_fields = ("name",)
    readonly_fields = ("created_at", "report")

    @admin.display(description="last run report")
    def report(self, case: TestCase) -> str:
        if case.last_run_report is None:
            return "Not run yet."
        instance_id = case.profile.instance_id
        return report_table(case.last_run_report, lambda key: issue_url(instance_id, key))

    actions = ("dry_run", "real_run")

    def has_run_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("profiles.run_testcase"))

    # A dry run writes nothing but the test case's report: changing the test case is enough.
    @admin.action(
        description="Run as a dry run (nothing is created; the report says what would happen)", permissions=["change"]
    )
    def dry_run(self, request: HttpRequest, queryset: QuerySet[TestCase]) -> None:
        self._run(request, queryset, dry_run=True)

    @admin.action(description="Run for real (creates issues and comments in the tracker)", permissions=["run"])
    def real_run(self, request: HttpRequest, queryset: QuerySet[TestCase]) -> None:
        self._run(request, queryset, dry_run=False)

    def _run(self, request: HttpRequest, queryset: QuerySet[TestCase], *, dry_run: bool) -> None:
        for case in queryset.select_related("profile"):
            report = run_test_case(case, dry_run=dry_run)
            outcome = report.get("outcome") or "error"
            self.message_user(
                request,
                f"{case.name}: {outcome} — {report.get('reason') or report.get('error', '')}",
                messages.SUCCESS if outcome not in {"error", "failed"} else messages.ERROR,
            )
