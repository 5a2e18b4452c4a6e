"""Admin of notifications: mappings (with template preview), issue events and outbound mail (read-only), and the
*Send a test mail* action on the Instance admin (it sends through this app, so it is added here: ``jemh`` imports no
other app).

The outbound audit lists every mail we send (notifications, hints, forwards, alerts, test mail) by kind and status,
with links to what caused it: the issue, the events, the inbound message (its admin page found through the model's
``_meta``, wherever the app owning it lives).

Failed notifications can be sent again (a *Send again* button on a failed mail's page, a bulk action on the
outbound list, and one on issue events for the mail they led to), by users with the ``resend_notification``
permission only; each resend is recorded on the row (``resent_at``/``resent_by``) and in the admin's history.

Rendered or stored HTML is never put into an admin page as markup: it is sanitised (nh3) and shown inside an
``<iframe sandbox srcdoc=…>`` whose attribute value Django escapes, so nothing in it can run or reach the admin.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from jemh.admin import InstanceAdmin
from jemh.models import Instance
from notifications.batching import flush_issue
from notifications.choices import EventStatus, OutboundStatus
from notifications.mapping_form import notification_mapping_form_for
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage, WebhookDelivery
from notifications.preview import preview_mapping, sanitize_mail_html, stored_mail
from notifications.sending import resend_failed
from notifications.services import send_test_mail
from notifications.tasks import queue_send
from trackers.registry import issue_url


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


def inbound_message_url(inbound_id: int) -> str:
    """The admin page of an inbound message ("" when there is none): reversed from the model's ``_meta``, found
    in the app registry by name, so it survives the model moving apps (notifications imports no inbound code)."""
    model = next((m for m in apps.get_models() if m._meta.object_name == "InboundMessage"), None)
    if model is None:
        return ""
    try:
        opts = model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[inbound_id])
    except NoReverseMatch:
        return ""


def issue_link(instance_id: int, issue_key: str) -> str:
    """The issue key, linked to where the issue is read when the tracker has a page for it."""

    if not issue_key:
        return "—"
    url = issue_url(instance_id, issue_key)
    return format_html('<a href="{}">{}</a>', url, issue_key) if url else issue_key


def outbound_link(outbound: OutboundMessage) -> str:
    return format_html(
        '<a href="{}">#{} {} · {}</a>',
        reverse("admin:notifications_outboundmessage_change", args=[outbound.pk]),
        outbound.pk,
        outbound.get_kind_display(),
        outbound.get_status_display(),
    )


def _only_instance() -> Instance | None:
    """Whose projects a new mapping's form offers: the only instance, when there is one (else they are typed)."""
    only = list(Instance.objects.order_by("pk")[:2])
    return only[0] if len(only) == 1 else None


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

    def get_form(
        self, request: HttpRequest, obj: NotificationMapping | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = notification_mapping_form_for(obj.instance if obj is not None else _only_instance())
        return super().get_form(request, obj, change, **kwargs)

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
    list_display = ("issue_shown", "kind", "source", "status", "reason_shown", "received_at", "expires_at")
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
        "report_shown",
        "occurred_at",
        "received_at",
        "due_at",
        "processed_at",
        "expires_at",
        "actor_shown",
        "payload_shown",
    )
    readonly_fields = fields

    @admin.display(description="issue", ordering="issue_key")
    def issue_shown(self, obj: IssueEvent) -> str:
        return issue_link(obj.instance_id, obj.issue_key)

    @admin.display(description="reason")
    def reason_shown(self, obj: IssueEvent) -> str:
        return obj.reason[:120] + ("…" if len(obj.reason) > 120 else "")

    @admin.display(description="report")
    def report_shown(self, obj: IssueEvent) -> str:
        """What the event led to: its status and reason, and each mail it caused with that mail's state."""
        mails = list(obj.outbound_messages.order_by("pk").only("pk", "kind", "status", "issue_key"))
        summary = format_html(
            "<p><strong>{}</strong>{}</p>", obj.get_status_display(), f": {obj.reason}" if obj.reason else ""
        )
        if not mails:
            return format_html("{}<p>No mail was made from this event.</p>", summary)
        rows = format_html_join("", "<li>{}</li>", ((outbound_link(m),) for m in mails))
        return format_html("{}<p>Mail made from it ({}):</p><ul>{}</ul>", summary, len(mails), rows)

    @admin.display(description="actor")
    def actor_shown(self, obj: IssueEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.actor, indent=2, ensure_ascii=False)) if obj.actor else "—"

    @admin.display(description="payload (decrypted)")
    def payload_shown(self, obj: IssueEvent) -> str:
        if obj.payload is None:
            return "— (dropped)"
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, default=str))

    def has_run_again_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("notifications.run_issueevent_again"))

    @admin.action(description="Run again (failed or ignored events with their payload)", permissions=["run_again"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[IssueEvent]) -> None:
        chosen = queryset.filter(status__in=[EventStatus.FAILED, EventStatus.IGNORED], payload__isnull=False)
        issues = set(chosen.values_list("instance_id", "issue_key"))
        picked = list(chosen.values_list("pk", flat=True))
        count = chosen.update(status=EventStatus.PENDING, due_at=timezone.now(), reason="Run again from the admin.")
        if picked and request.user.is_authenticated:  # who ran which events again, in the admin's history
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=IssueEvent.objects.filter(pk__in=picked),
                action_flag=CHANGE,
                change_message="Run again from the admin.",
            )
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
    """The outbound audit: every mail we send. Recipients and subject are decrypted for display; seeing this list
    at all takes the view permission of outbound messages."""

    list_display = (
        "created_at",
        "kind",
        "recipients_shown",
        "subject_shown",
        "status",
        "attempts",
        "caused_by",
        "sent_at",
        "next_attempt_at",
    )
    list_filter = ("kind", "status", "instance")
    list_select_related = ("instance",)
    search_fields = ("issue_key", "message_id")
    actions = ["resend_selected"]
    change_form_template = "notifications/admin/outbound_change_form.html"
    fields = (
        "instance",
        "kind",
        "mapping",
        "issue_shown",
        "inbound_shown",
        "events_shown",
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

    @admin.display(description="caused by")
    def caused_by(self, obj: OutboundMessage) -> str:
        """Links to what the mail came from: the issue, the inbound message."""
        parts = []
        if obj.issue_key:
            parts.append(issue_link(obj.instance_id, obj.issue_key))
        if obj.inbound_id is not None:
            parts.append(self.inbound_shown(obj))
        return format_html_join(" · ", "{}", ((p,) for p in parts)) if parts else "—"

    @admin.display(description="issue")
    def issue_shown(self, obj: OutboundMessage) -> str:
        return issue_link(obj.instance_id, obj.issue_key)

    @admin.display(description="inbound message")
    def inbound_shown(self, obj: OutboundMessage) -> str:
        if obj.inbound_id is None:
            return "—"
        url = inbound_message_url(obj.inbound_id)
        label = f"inbound message #{obj.inbound_id}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description="issue events")
    def events_shown(self, obj: OutboundMessage) -> str:
        events = list(obj.events.order_by("pk").only("pk", "kind", "issue_key", "status"))
        if not events:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:notifications_issueevent_change", args=[e.pk]), str(e)) for e in events),
        )

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
            messages.warning(request, "Not sent again: only a failed mail with its stored message can be.")
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


# -- the test mail of an instance's mail settings ----------------------------------------------------------------

TEST_MAIL_PERMISSION = "notifications.send_test_mail"


class TestMailForm(forms.Form):
    address = forms.EmailField(label="Send the test mail to", help_text="Your own address, unless you enter another.")


class InstanceMailAdmin(InstanceAdmin):
    """The Instance admin with *Send a test mail* (its own permission): a mail through the configured mail
    settings to the acting admin (or an address entered on the intermediate page), recorded as kind ``test``."""

    actions = [*InstanceAdmin.actions, "send_test_mail"]

    def has_send_test_mail_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(TEST_MAIL_PERMISSION))

    @admin.action(description="Send a test mail", permissions=["send_test_mail"])
    def send_test_mail(self, request: HttpRequest, queryset: QuerySet[Instance]) -> TemplateResponse | None:

        if "apply" in request.POST:
            form = TestMailForm(request.POST)
            if form.is_valid():
                address = form.cleaned_data["address"]
                for instance in queryset:
                    sent = send_test_mail(instance, address, requested_by=request.user.get_username())
                    self._report_test_mail(request, instance, address, sent)
                return None
        else:
            form = TestMailForm(initial={"address": getattr(request.user, "email", "")})
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a test mail",
            "opts": self.model._meta,
            "instances": list(queryset),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "notifications/admin/test_mail.html", context)

    def _report_test_mail(self, request: HttpRequest, instance: Instance, address: str, sent: Any) -> None:
        link = format_html(
            '<a href="{}">outbound #{}</a>',
            reverse("admin:notifications_outboundmessage_change", args=[sent.outbound_id]),
            sent.outbound_id,
        )
        if sent.status == OutboundStatus.SENT:
            what, level = "sent: the server accepted it", messages.SUCCESS
        elif sent.status == OutboundStatus.FAILED:
            what, level = f"failed: {sent.detail}", messages.ERROR
        else:
            what, level = f"not sent yet, it is retried: {sent.detail or 'queued'}", messages.WARNING
        self.message_user(
            request, format_html("Test mail of {} to {} {} ({}).", instance.name, address, what, link), level
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Jira webhook deliveries: what came and what became of it (the body is never shown; it is discarded once
    processed)."""

    list_display = ("received_at", "instance", "webhook_event", "status", "reason", "event")
    list_filter = ("status", "webhook_event", "instance")
    fields = ("instance", "received_at", "webhook_event", "identifier", "status", "reason", "event", "processed_at")
    readonly_fields = fields
    list_select_related = ("instance", "event")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.unregister(Instance)
admin.site.register(Instance, InstanceMailAdmin)
