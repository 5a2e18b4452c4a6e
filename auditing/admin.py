"""Admin of the inbound audit: read-only, decrypted fields shown as text (mail HTML is never rendered)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from auditing.models import InboundMessage
from inbound.pipeline.report_table import report_table
from jemh.crypto import keyed_hash_candidates
from trackers.registry import issue_url


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
    fields = [
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
    ]
    readonly_fields = fields
    actions = ["make_test_case", "process_again"]

    @admin.action(description="Make a test case from the stored message (for its source's profile)")
    def make_test_case(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        from auditing.services import test_case_from_message

        for message in queryset.select_related("source"):
            made, note = test_case_from_message(message)
            self.message_user(request, note, messages.SUCCESS if made else messages.WARNING)

    @admin.action(description="Process again (failed or errored messages; idempotent)")
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        from auditing.models import InboundStatus
        from inbound.pipeline.service import process_inbound

        retried = 0
        for message in queryset.filter(status__in=[InboundStatus.FAILED, InboundStatus.ERROR]):
            type(message).objects.filter(pk=message.pk).update(status=InboundStatus.RECEIVED)
            process_inbound(message.pk)
            retried += 1
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
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        message_id = term.strip("<>")
        by_sender = queryset.filter(sender_hash__in=keyed_hash_candidates(term, purpose="address"))
        by_message_id = queryset.filter(message_id_hash__in=keyed_hash_candidates(message_id, purpose="message-id"))
        return by_sender | by_message_id, False

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
