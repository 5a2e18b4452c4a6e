"""Admin of the inbound audit: read-only, decrypted fields shown as text (mail HTML is never rendered).

The audit is read here; what changes a message (processing it again, making a test case of it) and how it is found
by its encrypted fields belong to inbound, which writes it, and are called through ``inbound.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from inbound import services
from inbound.models import InboundMessage
from inbound.pipeline.report_table import report_table
from trackers.registry import issue_url

# Every field of the audit row, shown and never edited (the admin reads; inbound writes).
AUDIT_FIELDS = (
    "instance",
    "source",
    "received_at",
    "message_id",
    "subject_text",
    "sender",
    "recipients_text",
    "size",
    "raw_blob",
    "raw_retained_until_processed",
    "duplicate_copies",
    "status",
    "outcome",
    "report_text",
    "processed_at",
    "created_at",
    "updated_at",
)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "instance",
        "source",
        "sender",
        "subject_text",
        "size",
        "status",
        "outcome",
        "duplicate_copies",
        "raw_kept",
    ]
    list_filter = ["status", "outcome", "instance", "source"]
    list_select_related = ["instance", "source"]
    date_hierarchy = "received_at"
    search_fields = ["pk"]  # see get_search_results: addresses and Message-IDs are found by keyed hash
    search_help_text = "An e-mail address (sender) or a Message-ID, exactly."
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS
    actions = ["make_test_case", "process_again"]

    @admin.action(description="Make a test case from the stored message (for its source's profile)")
    def make_test_case(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        for message in queryset.select_related("source"):
            made, note = services.make_test_case(message)
            self.message_user(request, note, messages.SUCCESS if made else messages.WARNING)

    @admin.action(description="Process again (failed or errored messages; idempotent)")
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        retried = services.process_again(queryset)
        self.message_user(request, f"{retried} message(s) processed again; others were left as they are.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retention purges audit rows; erasure has its own tool

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[InboundMessage], search_term: str
    ) -> tuple[QuerySet[InboundMessage], bool]:
        return services.search_messages(queryset, search_term), False

    @admin.display(description="subject")
    def subject_text(self, message: InboundMessage) -> str:
        return message.subject or "(no subject)"

    @admin.display(description="recipients")
    def recipients_text(self, message: InboundMessage) -> str:
        lines = [f"{header}: {', '.join(addresses)}" for header, addresses in (message.recipients or {}).items()]
        return format_html("<pre>{}</pre>", "\n".join(lines) or "-")

    @admin.display(description="report")
    def report_text(self, message: InboundMessage) -> str:
        return report_html(message.report, message.instance_id)

    @admin.display(description="raw kept", boolean=True)
    def raw_kept(self, message: InboundMessage) -> bool:
        return bool(message.raw_blob)


def report_html(report: Any, instance_id: int) -> str:
    """A processing report as a table, its issue keys linked to the issue."""
    return report_table(report, lambda key: issue_url(instance_id, key))
