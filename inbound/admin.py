"""Admin of inbound mail sources (configuration, health at a glance, "test connection" and "poll now"), of
test cases (``profiles.TestCase``: raw mail an admin runs through the pipeline under a profile), and of the periodic
tasks again, a source's poll task kept to the source's instance."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.models import PeriodicTask

from inbound import (
    health,
    instance_admin,  # noqa: F401  (registers the Instance admin with the tracker's actions)
)
from inbound.models import GRAPH_FIELDS, Source, SourceKind
from inbound.oauth_admin import OAuthSignInAdminMixin
from inbound.pipeline.report_table import report_table
from inbound.pipeline.testcases import run_test_case
from inbound.retrieval import check_connection, poll
from inbound.sources.mta_setup import mta_setup
from inbound.tasks import poll_tasks_of
from jemh.admin import PeriodicTaskAdmin
from jemh.admin_secrets import SecretsAdminMixin
from jemh.admin_tenancy import InstanceScopedAdmin
from jemh.configuration import ConfigurationAdminMixin
from profiles.forms import TestCaseForm
from profiles.models import TestCase
from trackers.registry import issue_url

SHORT_ERROR_CHARS = 60
MAX_SHOWN_MESSAGE_BYTES = 100_000  # a test case's page shows the message up to this (attachments make it long)
# The fields of each kind of source (the others are hidden on its form; see source_change_form.html).
_OAUTH_FIELDS = (
    "oauth_provider",
    "sasl_mechanism",
    "oauth_connection",
    "send_notifications",
    "smtp_host",
    "smtp_port",
    "smtp_security",
)
_IMAP_FIELDS = (
    "host",
    "port",
    "security",
    "auth_method",
    "username",
    "password",
    *_OAUTH_FIELDS,
    "folder",
    "read_strategy",
    "move_to",
    "poll_interval",
    "batch_limit",
)
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    SourceKind.IMAP: _IMAP_FIELDS,
    SourceKind.GMAIL_OAUTH: _IMAP_FIELDS,
    SourceKind.M365_OAUTH: _IMAP_FIELDS,
    SourceKind.POP3: (
        "host",
        "port",
        "security",
        "auth_method",
        "username",
        "password",
        *_OAUTH_FIELDS,
        "delete_after_capture",
        "poll_interval",
        "batch_limit",
    ),
    SourceKind.MAILDIR: ("maildir_path", "read_strategy", "move_to", "poll_interval", "batch_limit"),
    SourceKind.PIPE: ("mta_lines",),
    SourceKind.GRAPH: (*GRAPH_FIELDS, "graph_state", "poll_interval", "batch_limit"),
}


class SourceForm(forms.ModelForm):
    """The source form. The password is write-only (see jemh.admin_secrets); OAuth tokens and the Graph delta link
    are never edited here (the sign-in and the polls write them)."""

    class Meta:
        model = Source
        exclude = [
            "oauth_access_token",
            "oauth_refresh_token",
            "oauth_token_expires_at",
            "oauth_account",
            "oauth_connected_at",
            "oauth_refreshed_at",
            "graph_delta_link",
            "graph_delta_scope",
        ]


@admin.register(Source)
class SourceAdmin(
    ConfigurationAdminMixin, InstanceScopedAdmin, SecretsAdminMixin, OAuthSignInAdminMixin, admin.ModelAdmin
):
    instance_path = "instance"
    form = SourceForm
    # Read at 1366 px: what the source is and whether it works, the server's words cut short; the detail page has
    # them whole, with the instance, the failure counts and the times of the last poll and success.
    list_display = [
        "name",
        "kind",
        "health_state",
        "next_poll",
        "captured_today",
        "short_error",
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
        "mta_lines",
        "graph_state",
        "created_at",
        "updated_at",
    ]
    change_form_template = "inbound/admin/source_change_form.html"
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
        ("Microsoft Graph", {"fields": ["graph_mailbox", "graph_state"]}),
        ("Reading", {"fields": ["folder", "read_strategy", "move_to", "delete_after_capture", "maildir_path"]}),
        ("Schedule and limits", {"fields": ["poll_interval", "batch_limit", "max_message_size"]}),
        ("Delivery by the MTA", {"fields": ["mta_lines"]}),
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
        text = source.last_error if source.consecutive_failures else ""  # a recovered source has no current error
        if not text:
            return "-"
        return text if len(text) <= SHORT_ERROR_CHARS else text[: SHORT_ERROR_CHARS - 3] + "..."

    @admin.display(description="last error (server's words)")
    def last_error_text(self, source: Source) -> str:
        if not source.last_error:
            return "-"
        if not source.consecutive_failures:  # kept as history, but not shown as if it were still the case
            return f"none since it recovered (before that: {source.last_error})"
        return source.last_error

    @admin.display(description="what to put in the MTA")
    def mta_lines(self, source: Source) -> str:
        if source.pk is None or source.kind != SourceKind.PIPE:
            return "Save a source of kind 'MTA pipe' to see the lines for Postfix and Exim."
        setup = mta_setup(source)
        blocks = [
            ("Delivery command (one message on standard input)", setup.command),
            ("Postfix, as an alias", setup.postfix_alias),
            ("Postfix, as a transport", f"{setup.postfix_transport}\n\n{setup.postfix_transport_map}"),
            ("Exim, a router and a transport", f"{setup.exim_router}\n\n{setup.exim_transport}"),
        ]
        note = (
            f"Replace {setup.address} with the address this source receives, if it differs. Exit status "
            "75 asks the MTA to keep the message and retry; the user must be able to read this installation."
        )
        return format_html(
            "{}<p>{}</p>",
            format_html_join("", '<h4>{}</h4><pre class="jemh-mta">{}</pre>', blocks),
            note,
        )

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

    @admin.display(description="delta state")
    def graph_state(self, source: Source) -> str:
        if source.kind != SourceKind.GRAPH:
            return "-"
        if source.graph_delta_link and source.graph_delta_scope == f"{source.graph_mailbox}\n{source.folder}":
            return "new mail is read from the last complete delta round"
        return "the next poll lists the whole folder (known mail is recognised and not captured again)"

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any | None = None,
    ) -> HttpResponse:
        context = {
            **context,
            "kind_fields": {kind: list(names) for kind, names in KIND_FIELDS.items()},
            "stored_kind": obj.kind if obj is not None else SourceKind.IMAP,
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

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
class TestCaseAdmin(InstanceScopedAdmin, admin.ModelAdmin):
    """Test cases, run from their own page (a dry run, or for real): the report is shown beside the message."""

    instance_path = "profile__instance"
    form = TestCaseForm
    list_display = ("name", "profile", "created_at")
    list_filter = ("profile__instance", "profile")
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    change_form_template = "inbound/admin/testcase_change_form.html"

    actions = ("dry_run", "real_run")

    def has_run_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("profiles.run_testcase"))

    def get_urls(self) -> list[URLPattern]:
        run = path("<path:object_id>/run/", self.admin_site.admin_view(self.run_view), name="profiles_testcase_run")
        return [run, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        case = self.get_object(request, object_id)
        if case is not None:
            extra_context = {**(extra_context or {}), **self._run_context(request, case)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _run_context(self, request: HttpRequest, case: TestCase) -> dict[str, Any]:
        report = case.last_run_report
        instance_id = case.profile.instance_id
        message = case.raw_bytes[:MAX_SHOWN_MESSAGE_BYTES].decode("utf-8", errors="replace")
        return {
            "run_url": reverse("admin:profiles_testcase_run", args=[case.pk]),
            "may_dry_run": self.has_change_permission(request, case),
            "may_real_run": self.has_run_permission(request, case),
            "message_text": message,
            "message_cut": len(case.raw_bytes) > MAX_SHOWN_MESSAGE_BYTES,
            "report_html": report_table(report, lambda key: issue_url(instance_id, key)) if report else "",
            "last_run": report or {},
        }

    def run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: run the test case (``mode`` "dry" or "real", each behind its permission), then show its page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self.get_object(request, object_id)
        if case is None:
            raise Http404("No such test case.")
        dry_run = request.POST.get("mode") != "real"
        allowed = self.has_change_permission(request, case) if dry_run else self.has_run_permission(request, case)
        if not allowed:
            raise PermissionDenied
        self._run(request, TestCase.objects.filter(pk=case.pk), dry_run=dry_run)
        return HttpResponseRedirect(reverse("admin:profiles_testcase_change", args=[case.pk]) + "#jemh-last-run")

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


class SourcePollTaskAdmin(PeriodicTaskAdmin):
    """The periodic tasks, a source's poll task shown only to its instance's users."""

    instance_path = staticmethod(poll_tasks_of)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, SourcePollTaskAdmin)
