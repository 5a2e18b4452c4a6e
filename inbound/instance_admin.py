"""The Instance admin with the tracker's actions, each with its own permission: *Test tracker connection*, *Check
custom fields* (offering to create the missing ones) and *Resume processing* (after the tracker refused the
instance's credentials and its processing paused). Registered from ``inbound.admin``, over the mail settings'
Instance admin of ``notifications``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from inbound.services import resume_processing
from inbound.tracker_setup import connection_report, create_missing_fields, fields_report
from jemh.models import Instance
from notifications.admin import InstanceMailAdmin
from trackers.jira.check import Report

CHECK_TRACKER_PERMISSION = "jemh.check_tracker"
RESUME_PERMISSION = "jemh.resume_processing"
PROCESSING_FIELDS = ("processing_paused", "processing_paused_at", "processing_paused_reason")


def _report_html(report: Report) -> str:
    return format_html(
        "{}<ul>{}</ul>", report.title, format_html_join("", "<li>{}</li>", ((f.line(),) for f in report.findings))
    )


class InstanceTrackerAdmin(InstanceMailAdmin):
    actions = [*InstanceMailAdmin.actions, "test_tracker_connection", "check_custom_fields", "resume"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*super().get_readonly_fields(request, obj), *PROCESSING_FIELDS)

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "processing")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        processing = (
            "Processing",
            {"fields": ("processing_paused", "processing_paused_at", "processing_paused_reason")},
        )
        return (*super().get_fieldsets(request, obj), processing)

    def has_check_tracker_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(CHECK_TRACKER_PERMISSION))

    def has_resume_processing_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(RESUME_PERMISSION))

    @admin.display(description="processing")
    def processing(self, instance: Instance) -> str:
        return "paused" if instance.processing_paused else "running"

    @admin.action(description="Test tracker connection", permissions=["check_tracker"])
    def test_tracker_connection(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            report = connection_report(instance)
            self.message_user(request, _report_html(report), messages.SUCCESS if report.ok else messages.ERROR)

    @admin.action(description="Check custom fields (and create the missing ones)", permissions=["check_tracker"])
    def check_custom_fields(self, request: HttpRequest, queryset: QuerySet[Instance]) -> TemplateResponse | None:
        if "apply" in request.POST:
            for instance in queryset:
                report = create_missing_fields(instance)
                self.message_user(request, _report_html(report), messages.SUCCESS if report.ok else messages.ERROR)
            return None
        reports = [fields_report(instance) for instance in queryset]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Custom fields the mail handler uses",
            "opts": self.model._meta,
            "instances": list(queryset),
            "reports": reports,
            "missing": any(r.missing for r in reports),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "inbound/admin/custom_fields.html", context)

    @admin.action(
        description="Resume processing (after fixing the tracker credentials)", permissions=["resume_processing"]
    )
    def resume(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            if not instance.processing_paused:
                self.message_user(request, f"{instance.name}: processing is not paused.", messages.INFO)
                continue
            report = connection_report(instance)
            if not report.authenticated:
                self.message_user(
                    request,
                    format_html(
                        "{}: still paused, Jira still refuses the credentials. {}", instance.name, _report_html(report)
                    ),
                    messages.ERROR,
                )
                continue
            queued = resume_processing(instance)
            level = messages.SUCCESS if report.ok else messages.WARNING
            self.message_user(
                request,
                format_html(
                    "{}: processing resumed; {} waiting message(s) queued. {}",
                    instance.name,
                    queued,
                    _report_html(report),
                ),
                level,
            )


admin.site.unregister(Instance)
admin.site.register(Instance, InstanceTrackerAdmin)
