"""Support flagging in the admin: *Flag for support* (an action and a button on the message's page, with a required
reason) and unflagging, both behind ``auditing.flag_for_support``; the "flagged for support" list; the support
access log, read-only; and the record of raw-mail reads, read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from auditing.flags import CannotFlag, flag_message, unflag
from auditing.models import FLAG_FOR_SUPPORT, RawMailAccess, SupportAccess, SupportFlag
from inbound.models import InboundMessage
from jemh.admin_tenancy import InstanceScopedAdmin


class FlagForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=2000,
        help_text="What support should look at. Support staff see this reason, the raw mail, its processing report "
        "and the export of the profile that processed it, until you unflag it or the flag expires.",
    )


def _may_flag(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(FLAG_FOR_SUPPORT))


class SupportFlaggingMixin:
    """Flagging from the inbound audit (see the module's docstring)."""

    admin_site: Any
    model: type[InboundMessage]

    def has_flag_for_support_permission(self, request: HttpRequest) -> bool:
        return _may_flag(request)

    def _messages(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        """The messages the user may reach: the admin's own queryset (their instances')."""
        return self.get_queryset(request)  # type: ignore[attr-defined]

    def flag_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/flag/", wrap(self.flag_view), name="inbound_inboundmessage_flag"),
            path(
                "<int:pk>/unflag/<int:flag_pk>/",
                wrap(require_POST(self.unflag_view)),
                name="inbound_inboundmessage_unflag",
            ),
        ]

    def _flag_all(self, request: HttpRequest, chosen: list[InboundMessage], reason: str) -> None:
        for message in chosen:
            try:
                flag = flag_message(message, reason, request.user)
            except CannotFlag as exc:
                self.message_user(request, str(exc), messages.WARNING)  # type: ignore[attr-defined]
                continue
            self.message_user(  # type: ignore[attr-defined]
                request, f"inbound #{message.pk} flagged for support until {flag.expires_at:%Y-%m-%d %H:%M}."
            )

    def _flag_page(self, request: HttpRequest, chosen: list[InboundMessage], form: FlagForm, action: bool) -> Any:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Flag for support",
            "chosen": chosen,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "auditing/admin/flag.html", context)

    @admin.action(description="Flag for support (asks for a reason)", permissions=["flag_for_support"])
    def flag_for_support(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> Any:
        chosen = list(queryset.select_related("instance", "source"))
        if "apply" in request.POST:
            form = FlagForm(request.POST)
            if form.is_valid():
                self._flag_all(request, chosen, form.cleaned_data["reason"])
                return None
        else:
            form = FlagForm()
        return self._flag_page(request, chosen, form, action=True)

    def flag_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = get_object_or_404(self._messages(request).select_related("instance", "source"), pk=pk)
        if not (self.has_view_permission(request, message) and _may_flag(request)):  # type: ignore[attr-defined]
            raise PermissionDenied
        form = FlagForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            self._flag_all(request, [message], form.cleaned_data["reason"])
            return HttpResponseRedirect(reverse("admin:inbound_inboundmessage_change", args=[pk]))
        return self._flag_page(request, [message], form, action=False)

    def unflag_view(self, request: HttpRequest, pk: int, flag_pk: int) -> HttpResponse:
        flag = get_object_or_404(SupportFlag, pk=flag_pk, message__in=self._messages(request).filter(pk=pk))
        if not _may_flag(request):
            raise PermissionDenied
        if unflag(flag, request.user):
            self.message_user(request, f"inbound #{pk} unflagged: support can no longer see it.")  # type: ignore[attr-defined]
        else:
            self.message_user(request, "That flag had already ended.", messages.WARNING)  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("admin:inbound_inboundmessage_change", args=[pk]))

    def flag_context(self, request: HttpRequest, message: InboundMessage) -> dict[str, Any]:
        """What the message's page shows of support flags: every flag with its events and support's accesses."""
        flags = list(SupportFlag.objects.filter(message=message).prefetch_related("events", "accesses"))
        return {
            "can_flag": _may_flag(request) and bool(message.raw_blob),
            "may_unflag": _may_flag(request),
            "flag_url": reverse("admin:inbound_inboundmessage_flag", args=[message.pk]),
            "support_flags": flags,
        }


class FlagStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("withdrawn", "withdrawn"), ("expired", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SupportFlag]) -> QuerySet[SupportFlag]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(withdrawn_at__isnull=True, expires_at__gt=now)
        if self.value() == "withdrawn":
            return queryset.filter(withdrawn_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(withdrawn_at__isnull=True, expires_at__lte=now)
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


FLAG_FIELDS: tuple[str, ...] = (
    "message_link",
    "instance",
    "reason",
    "flagged_by_name",
    "flagged_at",
    "expires_at",
    "state",
    "withdrawn_at",
    "withdrawn_by_name",
    "outcome",
    "profile_name",
    "history",
    "access_log",
)


@admin.register(SupportFlag)
class SupportFlagAdmin(InstanceScopedAdmin, ReadOnlyAdmin):
    """The "flagged for support" list: every flag, active or ended, with its message, reason and dates."""

    instance_path = "instance"

    list_display = ["flagged_at", "message_link", "instance", "reason_short", "flagged_by_name", "expires_at", "state"]
    list_filter = [FlagStateFilter, "instance"]
    list_select_related = ["instance"]
    show_full_result_count = False
    actions = ["withdraw"]
    fields = FLAG_FIELDS
    readonly_fields = FLAG_FIELDS

    def has_flag_for_support_permission(self, request: HttpRequest) -> bool:
        return _may_flag(request)

    @admin.action(description="Unflag (support loses access at once)", permissions=["flag_for_support"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[SupportFlag]) -> None:
        ended = sum(unflag(flag, request.user) for flag in queryset)
        self.message_user(request, f"{ended} flag(s) withdrawn; the others had already ended.")

    @admin.display(description="message")
    def message_link(self, flag: SupportFlag) -> str:
        url = reverse("admin:inbound_inboundmessage_change", args=[flag.message_id])
        return format_html('<a href="{}">inbound #{}</a>', url, flag.message_id)

    @admin.display(description="reason")
    def reason_short(self, flag: SupportFlag) -> str:
        return flag.reason if len(flag.reason) <= 80 else flag.reason[:79] + "…"

    @admin.display(description="state")
    def state(self, flag: SupportFlag) -> str:
        return flag.state

    @admin.display(description="history")
    def history(self, flag: SupportFlag) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join_items(
                (str(event.at.strftime("%Y-%m-%d %H:%M:%S")), event.kind, event.by) for event in flag.events.all()
            ),
        )

    @admin.display(description="support access log")
    def access_log(self, flag: SupportFlag) -> str:
        rows = [
            (str(a.at.strftime("%Y-%m-%d %H:%M:%S")), a.username, a.get_what_display()) for a in flag.accesses.all()
        ]
        return format_html("<ul>{}</ul>", format_html_join_items(rows)) if rows else "no access yet"


def format_html_join_items(rows: Any) -> str:
    return format_html_join("", "<li>{} · {} {}</li>", rows)


ACCESS_FIELDS: tuple[str, ...] = ("at", "username", "flag_link", "what", "client_address")
READ_FIELDS: tuple[str, ...] = ("at", "username", "message_link", "what", "detail")


@admin.register(SupportAccess)
class SupportAccessAdmin(InstanceScopedAdmin, ReadOnlyAdmin):
    """The support access log: every page view and download through the support views."""

    instance_path = "flag__instance"  # views of the list (no flag): superusers only

    list_display = ACCESS_FIELDS
    list_filter = ["what"]
    search_fields = ["username"]
    show_full_result_count = False
    fields = ACCESS_FIELDS
    readonly_fields = ACCESS_FIELDS

    @admin.display(description="flagged item")
    def flag_link(self, access: SupportAccess) -> str:
        if access.flag_id is None:
            return "-"
        url = reverse("admin:auditing_supportflag_change", args=[access.flag_id])
        return format_html('<a href="{}">flag #{}</a>', url, access.flag_id)


@admin.register(RawMailAccess)
class RawMailAccessAdmin(InstanceScopedAdmin, ReadOnlyAdmin):
    """Every read of stored raw mail in the admin."""

    instance_path = "message__instance"

    list_display = READ_FIELDS
    list_filter = ["what"]
    search_fields = ["username"]
    show_full_result_count = False
    fields = READ_FIELDS
    readonly_fields = READ_FIELDS

    @admin.display(description="message")
    def message_link(self, access: RawMailAccess) -> str:
        url = reverse("admin:inbound_inboundmessage_change", args=[access.message_id])
        return format_html('<a href="{}">inbound #{}</a>', url, access.message_id)
