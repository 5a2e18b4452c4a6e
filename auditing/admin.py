"""Admin of the inbound audit: read-only, decrypted fields shown as escaped text (mail HTML is never rendered).

The list is made to read at 1366 px: few, short columns, most important first (the subject cut short), the issue a
message created or commented on linked, and no full ``COUNT(*)`` per page. The detail page leads with a header
summary, then the report as a table and links to what the message touched: the issue, the source, the profile and
the mail it caused.

The audit is read here; what changes a message (processing it again, making a test case of it) and how it is found
by its encrypted fields belong to inbound, which writes it, and are called through ``inbound.services``."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from rangefilter.filters import DateRangeFilterBuilder

from auditing.admin_flags import SupportFlaggingMixin
from auditing.admin_raw import RawMailAdminMixin
from auditing.filters import TrafficFilter
from auditing.models import InboundDeletion
from auditing.paging import ProbingPaginator, requested_page
from inbound import services
from inbound.models import InboundMessage, Source
from inbound.pipeline.report_table import report_table
from jemh.crypto import keyed_hash_candidates
from jemh.fields import EncryptedJSONField, EncryptedTextField
from jemh.models import Instance
from notifications.services import outbound_for_inbound
from profiles.services import cases_made_from_inbound
from trackers.registry import issue_url, issue_urls

SUBJECT_CHARS = 60  # the list's subject column, cut with an ellipsis (the full subject is its tooltip)
SENDER_CHARS = 40
# What the list never shows, so never decrypts.
LIST_DEFERRED = ("report", "recipients", "message_id")


def encrypted_fields(model: type[Model], via: str) -> list[str]:
    """The encrypted fields of a related ``model``, reached through ``via``: a list page loads but never shows them,
    and decrypting them for every row (a source's password, an instance's tokens) costs more than the page."""
    return [
        f"{via}__{field.name}"
        for field in model._meta.concrete_fields
        if isinstance(field, (EncryptedTextField, EncryptedJSONField))
    ]


LIST_RELATED_DEFERRED = (*encrypted_fields(Source, "source"), *encrypted_fields(Instance, "instance"))
# The detail page, read-only: what the mail is, what processing made of it, what it touched, and the row itself.
DETAIL_SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Mail", ("header_summary", "subject_text", "size_text", "raw_kept_until")),
    ("Processing", ("status", "outcome", "issue_link", "processed_at", "report_text")),
    ("Related", ("source_link", "profile_link", "test_cases", "outbound_mail")),
    ("Record", ("instance", "received_at", "duplicate_copies", "raw_blob", "created_at", "updated_at")),
]


class InboundChangeList(ChangeList):
    """The list page: its rows loaded without the fields it does not show, and the issue links of a page resolved
    in two queries per instance on it (not two per row)."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[InboundMessage]:
        rows = (
            super().get_queryset(request, exclude_parameters).select_related(None).select_related("source", "instance")
        )
        return rows.defer(*LIST_DEFERRED, *LIST_RELATED_DEFERRED)

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        keys: dict[int, set[str]] = defaultdict(set)
        for message in self.result_list:
            if message.issue_key:
                keys[message.instance_id].add(message.issue_key)
        urls = {(pk, key): url for pk, wanted in keys.items() for key, url in issue_urls(pk, wanted).items()}
        for message in self.result_list:
            message.issue_link_url = urls.get((message.instance_id, message.issue_key), "")


@admin.register(InboundMessage)
class InboundMessageAdmin(RawMailAdminMixin, SupportFlaggingMixin, admin.ModelAdmin):
    # Most important first, so that at 1366 px what became of a message is never off-screen: when, its state and
    # outcome and the issue, then what it is; its size, how long its raw mail is kept, the headers, the report and
    # the links are on the detail page.
    list_display = [
        "received_at",
        "status",
        "outcome",
        "issue_link",
        "subject_short",
        "sender_short",
        "source_name",
    ]
    list_filter = [
        "outcome",
        "status",
        "source",
        "source__profile",
        "instance",
        ("received_at", DateRangeFilterBuilder(title="received")),
        TrafficFilter,
    ]
    list_select_related = ["source"]
    show_full_result_count = False  # no second COUNT(*) of the whole table on every filtered page
    list_per_page = 50  # rendering a row (decrypting its subject and sender) is what a page costs, not the query
    sortable_by = ["received_at"]  # the one order an index serves (with each filter: see InboundMessage.Meta)
    search_fields = ["pk"]  # see get_search_results: addresses and Message-IDs are found by keyed hash
    search_help_text = "An audit id, a sender's e-mail address, a Message-ID or an issue key, exactly."
    fieldsets = [(title, {"fields": names}) for title, names in DETAIL_SECTIONS]
    readonly_fields = [name for _, names in DETAIL_SECTIONS for name in names]
    actions = ["make_test_case", "process_again", "flag_for_support", "delete_with_reason"]
    # The detail page adds the stored mail's link and reads, and the support flags, below the fields.
    change_form_template = "auditing/admin/inbound_change_form.html"

    # -- the actions, each behind its own permission (see InboundMessage.Meta.permissions) -------------------------
    def has_reprocess_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("inbound.reprocess_inboundmessage"))

    def has_make_test_case_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("inbound.make_testcase_inboundmessage"))

    def has_erase_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("inbound.erase_inboundmessage"))

    @admin.action(
        description="Make a test case from the stored message (for its source's profile)",
        permissions=["make_test_case"],
    )
    def make_test_case(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        for message in queryset.select_related("source"):
            made, note = services.make_test_case(message)
            self.message_user(request, note, messages.SUCCESS if made else messages.WARNING)

    @admin.action(description="Process again (failed or errored messages; idempotent)", permissions=["reprocess"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        retried = services.process_again(queryset)
        self.message_user(request, f"{retried} message(s) processed again; others were left as they are.")

    @admin.action(description="Delete, with a reason (the row and its stored mail)", permissions=["erase"])
    def delete_with_reason(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> TemplateResponse | None:
        form = DeletionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            user = request.user
            for message in queryset.select_related(None).only(
                "pk", "instance_id", "message_id_hash", "received_at", "raw_blob"
            ):
                gone = services.delete_message(message)
                InboundDeletion.objects.create(
                    inbound_id=gone.inbound_id,
                    instance_id=gone.instance_id,
                    message_id_hash=gone.message_id_hash,
                    received_at=gone.received_at,
                    raw_mail_deleted=gone.raw_mail_deleted,
                    reason=form.cleaned_data["reason"],
                    deleted_by=user if user.is_authenticated else None,
                    deleted_by_name=user.get_username(),
                )
                self.message_user(request, f"inbound #{gone.inbound_id} deleted.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete inbound messages",
            "opts": self.model._meta,
            "messages_to_delete": list(
                queryset.select_related(None).only("pk", "received_at", "status", "outcome")[:500]
            ),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "auditing/admin/delete_inbound.html", context)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return InboundChangeList

    def get_paginator(
        self, request: HttpRequest, queryset: QuerySet[InboundMessage], per_page: int, *args: Any, **kwargs: Any
    ) -> Paginator:
        return ProbingPaginator(queryset, per_page, requested_page(request), *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        return self.raw_mail_urls() + self.flag_urls() + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        message = (
            InboundMessage.objects.filter(pk=object_id).only("pk", "raw_blob").first() if object_id.isdigit() else None
        )
        if message is not None:
            extra_context = {
                **(extra_context or {}),
                **self.raw_mail_context(request, message),
                **self.flag_context(request, message),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return super().get_queryset(request).select_related("instance", "source__profile")

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

    # -- the list's columns (also on the detail page) ------------------------------------------------------------
    @admin.display(description="source", ordering="source__name")
    def source_name(self, message: InboundMessage) -> str:
        return message.source.name if message.source is not None else "(none)"

    @admin.display(description="sender")
    def sender_short(self, message: InboundMessage) -> str:
        return Truncator(message.sender).chars(SENDER_CHARS) if message.sender else "-"

    @admin.display(description="subject")
    def subject_short(self, message: InboundMessage) -> SafeString:
        subject = message.subject or "(no subject)"
        return format_html('<span title="{}">{}</span>', subject, Truncator(subject).chars(SUBJECT_CHARS))

    @admin.display(description="subject")
    def subject_text(self, message: InboundMessage) -> str:
        return message.subject or "(no subject)"

    @admin.display(description="issue", ordering="issue_key")
    def issue_link(self, message: InboundMessage) -> str:
        if not message.issue_key:
            return "-"
        url = getattr(message, "issue_link_url", None)
        if url is None:  # the detail page (one row)
            url = issue_url(message.instance_id, message.issue_key)
        return format_html('<a href="{}">{}</a>', url, message.issue_key) if url else message.issue_key

    @admin.display(description="size", ordering="size")
    def size_text(self, message: InboundMessage) -> str:
        return filesizeformat(message.size)

    @admin.display(description="raw mail kept until")
    def raw_kept_until(self, message: InboundMessage) -> str:
        """Until when the raw mail is stored: received + the instance's raw mail retention, "until processed" when
        the instance keeps none (it goes once processing ends), "not kept" once it is gone."""
        if not message.raw_blob:
            return "not kept"
        if message.raw_retained_until_processed or not message.instance.store_raw_mail:
            return "until processed"
        until = message.received_at + timedelta(days=message.instance.raw_mail_retention_days)
        return date_format(timezone.localtime(until), "DATE_FORMAT")

    # -- the detail page -----------------------------------------------------------------------------------------
    @admin.display(description="headers")
    def header_summary(self, message: InboundMessage) -> SafeString:
        summary = services.header_summary(message)
        rows = [
            ("From", summary.sender),
            ("To", ", ".join(summary.to)),
            ("Cc", ", ".join(summary.cc)),
            ("Date", summary.date or ("" if summary.from_raw else "(raw mail not kept)")),
            ("Message-ID", summary.message_id),
            ("In-Reply-To", summary.in_reply_to or ("" if summary.from_raw else "(raw mail not kept)")),
        ]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((name, value or "-") for name, value in rows))
        return format_html('<table class="jemh-headers">{}</table>', body)

    @admin.display(description="report")
    def report_text(self, message: InboundMessage) -> str:
        return report_html(message.report, message.instance_id)

    @admin.display(description="source")
    def source_link(self, message: InboundMessage) -> str:
        if message.source is None:
            return "(none: a test-case run, or the source was deleted)"
        url = reverse("admin:inbound_source_change", args=[message.source.pk])
        return format_html('<a href="{}">{}</a>', url, str(message.source))

    @admin.display(description="profile")
    def profile_link(self, message: InboundMessage) -> str:
        profile = message.source.profile if message.source is not None else None
        if profile is not None:
            url = reverse("admin:profiles_profile_change", args=[profile.pk])
            return format_html('<a href="{}">{}</a>', url, profile)
        named = message.report.get("profile") if isinstance(message.report, dict) else None
        return f"{named} (the instance's only enabled profile)" if named else "-"

    @admin.display(description="test cases made from it")
    def test_cases(self, message: InboundMessage) -> SafeString | str:
        cases = cases_made_from_inbound(message.pk)
        if not cases:
            return "none"
        items = ((reverse("admin:profiles_testcase_change", args=[pk]), name) for pk, name in cases)
        return format_html("<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a></li>', items))

    @admin.display(description="mail it caused")
    def outbound_mail(self, message: InboundMessage) -> SafeString | str:
        sent = outbound_for_inbound(message.pk)
        if not sent:
            return "none"
        items = (
            (
                reverse("admin:notifications_outboundmessage_change", args=[mail.outbound_id]),
                mail.kind,
                mail.status,
                mail.created_at,
            )
            for mail in sent
        )
        return format_html("<ul>{}</ul>", format_html_join("", '<li><a href="{}">{} ({}, {})</a></li>', items))


def report_html(report: Any, instance_id: int) -> str:
    """A processing report as a table, its issue keys linked to the issue."""
    return report_table(report, lambda key: issue_url(instance_id, key))


class DeletionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why these messages are deleted; kept in the deletion record (write no personal data here).",
    )


@admin.register(InboundDeletion)
class InboundDeletionAdmin(admin.ModelAdmin):
    """The deletion records, read-only: nobody adds, changes or deletes them from the admin."""

    list_display = ("deleted_at", "inbound_id", "instance", "deleted_by_name", "reason_short", "raw_mail_deleted")
    list_filter = ("instance",)
    search_fields = ("=inbound_id",)  # and a Message-ID, by its keyed hash: see get_search_results
    search_help_text = "An audit id, or the Message-ID the deleted mail had, exactly."
    readonly_fields = (
        "inbound_id",
        "instance",
        "message_id_hash",
        "received_at",
        "reason",
        "deleted_by",
        "deleted_by_name",
        "deleted_at",
        "raw_mail_deleted",
    )
    fields = readonly_fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[InboundDeletion], search_term: str
    ) -> tuple[QuerySet[InboundDeletion], bool]:
        term = search_term.strip()
        if not term or term.isdigit():
            return super().get_search_results(request, queryset, term)
        hashes = keyed_hash_candidates(term.strip("<>"), purpose="message-id")
        return queryset.filter(message_id_hash__in=hashes), False

    @admin.display(description="reason")
    def reason_short(self, record: InboundDeletion) -> str:
        return Truncator(record.reason).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
