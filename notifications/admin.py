"""Admin of notifications: mappings (with template preview), issue events and outbound mail (read-only).

Failed notifications can be sent again (a *Send again* button on a failed mail's page, a bulk action on the
outbound list, and one on issue events for the mail they led to), by users with the ``resend_notification``
permission only; each resend is recorded on the row (``resent_at``/``resent_by``) and in the admin's history.

Rendered or stored HTML is never put into an admin page as markup: it is sanitised (nh3) and shown inside an
``<iframe sandbox srcdoc=…>`` whose attribute value Django escapes, so nothing in it can run or reach the admin.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from notifications.preview import preview_mapping, sanitize_mail_html, stored_mail


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


RESEND_PERMISSION = "notifications.resend_notification"


class ResendMixin:
    """What the admins that can send failed notifications again share: the permission and the resend itself."""

    def has_resend_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(RESEND_PERMISSION))

    def resend(self, request: HttpRequest, outbound_ids: list[int]) -> int:
        """Queue failed notifications to be sent again; each resent row is logged in the admin's history."""
        from notifications.sending import resend_failed
        from notifications.tasks import queue_send

        user = request.user
        if not user.is_authenticated:  # the admin only serves signed-in staff
            raise PermissionDenied
        requeued = resend_failed(outbound_ids, user)
        if requeued:
            LogEntry.objects.log_actions(
                user_id=user.pk,
                queryset=OutboundMessage.objects.filter(pk__in=requeued),
                action_flag=CHANGE,
                change_message="Sent again from the admin (it had failed; attempts reset).",
            )

        def queue_all() -> None:
            for pk in requeued:
                queue_send(pk)

        transaction.on_commit(queue_all)
        return len(requeued)


def sandboxed(html: str) -> str:
    return format_html(
        '<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{}" '
        'style="width:100%;min-height:480px;border:1px solid #ccc;background:#fff"></iframe>',
        sanitize_mail_html(html),
    )


@admin.register(NotificationMapping)
class NotificationMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "instance", "enabled", "format", "project_list", "kind_list", "preview_link")
    list_filter = ("instance", "enabled", "format")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("instance", "name", "enabled", "projects", "event_kinds", "format")}),
        (
            "Audience",
            {
                "fields": (
                    "notify_reporter",
                    "notify_assignee",
                    "notify_watchers",
                    "notify_participants",
                    "notify_project_lead",
                    "fixed_recipients",
                    "exclude_patterns",
                    "skip_actor",
                )
            },
        ),
        (
            "Sending",
            {
                "fields": (
                    "from_address",
                    "reply_address",
                    "batch_window_seconds",
                    "include_attachments",
                    "attachment_max_bytes",
                )
            },
        ),
        (
            "Templates (Django template language; empty = default)",
            {"classes": ("collapse",), "fields": ("subject_template", "text_template", "html_template")},
        ),
    )

    @admin.display(description="projects")
    def project_list(self, obj: NotificationMapping) -> str:
        return ", ".join(obj.projects) or "all"

    @admin.display(description="events")
    def kind_list(self, obj: NotificationMapping) -> str:
        return ", ".join(obj.event_kinds)

    @admin.display(description="preview")
    def preview_link(self, obj: NotificationMapping) -> str:
        return format_html('<a href="{}">preview</a>', reverse("admin:notifications_mapping_preview", args=[obj.pk]))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="notifications_mapping_preview"
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = get_object_or_404(NotificationMapping, pk=pk)
        if not self.has_view_permission(request, mapping):
            return HttpResponse(status=403)
        events = list(
            IssueEvent.objects.filter(instance=mapping.instance, payload__isnull=False).select_related("instance")[:100]
        )
        chosen = next((e for e in events if str(e.pk) == request.GET.get("event")), events[0] if events else None)
        rendered, error = None, ""
        if chosen is not None:
            try:
                rendered = preview_mapping(mapping, chosen)
            except Exception as exc:  # a template or data problem is shown to the admin, not raised
                error = f"{type(exc).__name__}: {exc}"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {mapping.name}",
            "mapping": mapping,
            "opts": self.model._meta,
            "events": events,
            "chosen": chosen,
            "rendered": rendered,
            "error": error,
            "html_frame": sandboxed(rendered.html) if rendered and rendered.html else "",
        }
        return TemplateResponse(request, "notifications/admin/mapping_preview.html", context)


@admin.register(IssueEvent)
class IssueEventAdmin(ResendMixin, ReadOnlyAdmin):
    list_display = ("issue_key", "kind", "source", "status", "received_at", "expires_at")
    list_filter = ("status", "kind", "source", "instance")
    search_fields = ("issue_key",)
    actions = ["run_again", "resend_their_failed_mail"]
    fields = (
        "instance",
        "source",
        "external_id",
        "kind",
        "issue_key",
        "project_key",
        "status",
        "reason",
        "occurred_at",
        "received_at",
        "due_at",
        "processed_at",
        "expires_at",
        "actor_shown",
        "payload_shown",
    )
    readonly_fields = fields

    @admin.display(description="actor")
    def actor_shown(self, obj: IssueEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.actor, indent=2, ensure_ascii=False)) if obj.actor else "—"

    @admin.display(description="payload (decrypted)")
    def payload_shown(self, obj: IssueEvent) -> str:
        if obj.payload is None:
            return "— (dropped)"
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, default=str))

    @admin.action(description="Run again (failed or ignored events with their payload)")
    def run_again(self, request: HttpRequest, queryset: QuerySet[IssueEvent]) -> None:
        from notifications.batching import flush_issue
        from notifications.tasks import queue_send

        chosen = queryset.filter(status__in=[EventStatus.FAILED, EventStatus.IGNORED], payload__isnull=False)
        issues = set(chosen.values_list("instance_id", "issue_key"))
        count = chosen.update(status=EventStatus.PENDING, due_at=timezone.now(), reason="Run again from the admin.")
        for instance_id, issue_key in issues:
            for outbound_id in flush_issue(instance_id, issue_key).outbound_ids:
                queue_send(outbound_id)
        messages.info(request, f"{count} event(s) run again.")
        notified = queryset.filter(status=EventStatus.NOTIFIED).count()
        if notified:  # their mail was composed and each recipient's is recorded: running them would send nothing
            messages.warning(
                request,
                f"{notified} notified event(s) left alone: their mail exists already. To send mail of theirs that "
                "failed, use “Send their failed notifications again”.",
            )

    @admin.action(description="Send their failed notifications again", permissions=["resend"])
    def resend_their_failed_mail(self, request: HttpRequest, queryset: QuerySet[IssueEvent]) -> None:
        failed = OutboundMessage.objects.filter(
            deliveries__event__in=queryset, status=OutboundStatus.FAILED
        ).values_list("pk", flat=True)
        count = self.resend(request, sorted(set(failed)))
        messages.info(request, f"{count} failed notification(s) of these events queued to be sent again.")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ResendMixin, ReadOnlyAdmin):
    list_display = ("issue_key", "recipients_shown", "subject_shown", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "instance")
    search_fields = ("issue_key", "message_id")
    actions = ["resend_selected"]
    change_form_template = "notifications/admin/outbound_change_form.html"
    fields = (
        "instance",
        "mapping",
        "issue_key",
        "recipients_shown",
        "subject_shown",
        "status",
        "attempts",
        "error",
        "unreachable_since",
        "maybe_sent_at",
        "maybe_sent_reason",
        "message_id",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "resent_at",
        "resent_by",
        "expires_at",
        "stored_shown",
    )
    readonly_fields = fields

    @admin.action(description="Send the failed ones again", permissions=["resend"])
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        chosen = list(queryset.values_list("pk", flat=True))
        count = self.resend(request, chosen)
        skipped = len(chosen) - count
        note = f" ({skipped} not failed, or without a stored message, left alone)" if skipped else ""
        messages.info(request, f"{count} notification(s) queued to be sent again{note}.")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="notifications_outboundmessage_resend",
            ),
            *super().get_urls(),
        ]

    def resend_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The change page's *Send again* button (POST only)."""
        row = get_object_or_404(OutboundMessage, pk=pk)
        if request.method != "POST" or not self.has_resend_permission(request, row):
            return HttpResponse(status=403 if request.method == "POST" else 405)
        if self.resend(request, [row.pk]):
            messages.info(request, "Queued to be sent again.")
        else:
            messages.warning(request, "Not sent again: only a failed notification with its stored message can be.")
        return HttpResponseRedirect(reverse("admin:notifications_outboundmessage_change", args=[row.pk]))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        row = OutboundMessage.objects.filter(pk=object_id).only("status", "blob_name").first()
        can_resend = bool(
            row and row.status == OutboundStatus.FAILED and row.blob_name and self.has_resend_permission(request, row)
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "can_resend": can_resend})

    @admin.display(description="recipients")
    def recipients_shown(self, obj: OutboundMessage) -> str:
        return ", ".join(obj.recipients or [])

    @admin.display(description="subject")
    def subject_shown(self, obj: OutboundMessage) -> str:
        return obj.subject

    @admin.display(description="stored message")
    def stored_shown(self, obj: OutboundMessage) -> str:
        try:
            view = stored_mail(obj)
        except Exception as exc:
            return f"The stored message cannot be read ({type(exc).__name__})."
        if view is None:
            return "Not kept (the instance does not store outbound mail, or it was purged)."
        headers = "\n".join(f"{k}: {v}" for k, v in view.headers)
        frame = sandboxed(view.html) if view.html else ""
        return format_html(
            "<pre>{}</pre><pre>{}</pre>{}{}",
            headers,
            view.text,
            frame,
            f"Attachments: {', '.join(view.attachments)}" if view.attachments else "",
        )
