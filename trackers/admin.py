"""Admin of the local tracker. Every save goes through trackers.local services, so it emits issue events."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from jemh.admin_tenancy import InstanceScopedAdmin
from jemh.configuration import ConfigurationAdminMixin
from trackers.errors import InvalidTransition
from trackers.forms import IssueAdminForm
from trackers.interface import AttachmentUpload
from trackers.local import attachments as attachment_services
from trackers.local import comments as comment_services
from trackers.local import services
from trackers.local.changes import ChangeContext, snapshot
from trackers.models import Attachment, Comment, Issue, IssueMessageId, Project
from trackers.workflow import TRANSITIONS, WorkflowTransition


def admin_context(request: HttpRequest) -> ChangeContext:
    return ChangeContext(actor_user_id=request.user.pk, via="admin")


@admin.register(Project)
class ProjectAdmin(ConfigurationAdminMixin, InstanceScopedAdmin, admin.ModelAdmin):
    instance_path = "instance"
    list_display = ("key", "name", "instance", "lead", "default_issue_type", "default_priority")
    list_filter = ("instance",)
    search_fields = ("key", "name")
    raw_id_fields = ("lead",)

    def get_readonly_fields(self, request: HttpRequest, obj: Project | None = None) -> tuple[str, ...]:
        if obj is not None and obj.issues.exists():
            return ("instance", "key")
        return ()


class CommentInline(admin.StackedInline):
    model = Comment
    extra = 1
    can_delete = False
    fields = ("author_display", "body", "created_at")
    readonly_fields = ("author_display", "created_at")

    @admin.display(description="author")
    def author_display(self, comment: Comment) -> str:
        return author_of(comment)


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    fields = ("download", "content_type", "size", "sha256", "comment", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="file")
    def download(self, attachment: Attachment) -> str:
        url = reverse("admin:trackers_issue_attachment", args=[attachment.issue_id, attachment.pk])
        return format_html('<a href="{}">{}</a>', url, attachment.filename)


class MessageIdInline(admin.TabularInline):
    model = IssueMessageId
    extra = 0
    can_delete = False
    fields = ("kind", "message_id", "created_at")
    readonly_fields = fields
    verbose_name_plural = "Message-IDs (mail this issue was made from, and our notifications)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def inbound_message_url(pk: int) -> str:
    """The admin page of an inbound message ("" when the admin has none). By URL name, not by importing the
    model: the trackers app does not depend on inbound, the app that owns inbound messages."""
    try:
        return reverse("admin:inbound_inboundmessage_change", args=[pk])
    except NoReverseMatch:
        return ""


def author_of(comment: Comment) -> str:
    if comment.author_id:
        return str(comment.author)
    if comment.author_email:
        return f"{comment.author_name} <{comment.author_email}> (email only)".strip()
    return "-" if comment.pk else "you"


def _transition_action(transition: WorkflowTransition) -> Any:
    def action(modeladmin: IssueAdmin, request: HttpRequest, queryset: QuerySet[Issue]) -> None:
        moved, refused = [], []
        for issue in queryset.select_related("project"):
            try:
                services.transition_issue(issue, transition.target, ctx=admin_context(request))
                moved.append(issue.key)
            except InvalidTransition:
                refused.append(f"{issue.key} ({issue.status})")
        if moved:
            modeladmin.message_user(request, f"{transition.name}: {', '.join(moved)}.", messages.SUCCESS)
        if refused:
            modeladmin.message_user(
                request, f"{transition.name} is not allowed from the status of: {', '.join(refused)}.", messages.WARNING
            )

    action.__name__ = f"transition_{transition.id}"
    return admin.action(description=f"{transition.name} (→ {transition.target})", permissions=["change"])(action)


@admin.register(Issue)
class IssueAdmin(InstanceScopedAdmin, admin.ModelAdmin):
    instance_path = "instance"
    form = IssueAdminForm
    list_display = ("key", "summary", "status", "priority", "issue_type", "assignee", "updated_at")
    list_filter = ("instance", "project", "status", "priority", "issue_type")
    search_fields = ("key", "summary")
    raw_id_fields = ("reporter", "assignee")
    filter_horizontal = ("watchers",)
    readonly_fields = (
        "key",
        "resolved_at",
        "email_sender_address",
        "email_sender_name",
        "participants",
        "source_message",
        "created_at",
        "updated_at",
    )
    inlines = (CommentInline, AttachmentInline, MessageIdInline)
    actions = [_transition_action(t) for t in TRANSITIONS]

    def get_fieldsets(self, request: HttpRequest, obj: Issue | None = None) -> Any:
        main = (
            ["project", "summary", "description", "issue_type", "priority"]
            if obj is None
            else ["key", "summary", "description", "issue_type", "priority"]
        )
        return (
            (None, {"fields": main}),
            ("Workflow", {"fields": ["status", "resolution", "resolved_at"]}),
            ("People", {"fields": ["reporter", "assignee", "watchers"]}),
            ("Email-only people", {"fields": ["email_sender_address", "email_sender_name", "participants"]}),
            (
                "More",
                {
                    "fields": [
                        "labels",
                        "custom_fields",
                        "add_attachment",
                        "source_message",
                        "created_at",
                        "updated_at",
                    ]
                },
            ),
        )

    def get_form(self, request: HttpRequest, obj: Issue | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:
            kwargs["fields"] = [f for f in IssueAdminForm.Meta.fields if f != "project"]
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="from inbound message")
    def source_message(self, issue: Issue) -> str:
        """The inbound message the issue was made from, linked to its audit page."""
        if issue.source_message_id is None:
            return "-"
        url = inbound_message_url(issue.source_message_id)
        label = f"#{issue.source_message_id}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description="Email Participants")
    def participants(self, issue: Issue) -> str:
        return format_html_join("", "<div>{}</div>", ((a,) for a in issue.email_participants or [])) or "-"

    def save_model(self, request: HttpRequest, obj: Issue, form: Any, change: bool) -> None:
        ctx = admin_context(request)
        if not change:
            services.insert_issue(obj, ctx=ctx)
            return
        stored = Issue.objects.select_related("project", "reporter", "assignee").get(pk=obj.pk)
        obj._admin_before = snapshot(stored)  # type: ignore[attr-defined]  # read back in save_related
        if obj.status != stored.status:
            services.apply_status(obj, stored.status, obj.status, obj.resolution or None)
        obj.email_sender_address_hash = services.email_hash(obj.email_sender_address or "")
        obj.save()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.save_m2m()  # as ModelAdmin.save_related, with the field changes recorded before the comments
        issue: Issue = form.instance
        before = getattr(issue, "_admin_before", None)
        if before is not None:
            services.record_admin_change(issue, before, admin_context(request))
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        upload = form.cleaned_data.get("add_attachment")
        if upload:
            attachment_services.add_attachments(
                issue,
                [
                    AttachmentUpload(
                        filename=upload.name,
                        content_type=upload.content_type or "application/octet-stream",
                        file=upload,
                    )
                ],
                ctx=admin_context(request),
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Comment:
            super().save_formset(request, form, formset, change)
            return
        for comment in formset.save(commit=False):
            if comment.pk is None:
                comment.issue = form.instance
                comment.author = request.user
                comment_services.insert_comment(comment, ctx=admin_context(request))
            else:
                comment_services.edit_comment(comment, comment.body, admin_context(request))

    def delete_model(self, request: HttpRequest, obj: Issue) -> None:
        services.delete_issue(obj, admin_context(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Issue]) -> None:
        for issue in queryset:
            services.delete_issue(issue, admin_context(request))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.attachment_view)
        return [
            path("<int:issue_id>/attachments/<int:attachment_id>/", view, name="trackers_issue_attachment"),
            *super().get_urls(),
        ]

    def attachment_view(self, request: HttpRequest, issue_id: int, attachment_id: int) -> FileResponse:
        issue = get_object_or_404(self.get_queryset(request), pk=issue_id)  # of the user's instances
        attachment = get_object_or_404(Attachment, issue=issue, pk=attachment_id)
        if not self.has_view_permission(request, attachment.issue):
            raise PermissionDenied
        data = attachment_services.read_attachment(attachment)
        # Always a download with a neutral type: attachments come from strangers' mail.
        return FileResponse(
            io.BytesIO(data), as_attachment=True, filename=attachment.filename, content_type="application/octet-stream"
        )


@admin.register(Comment)
class CommentAdmin(InstanceScopedAdmin, admin.ModelAdmin):
    instance_path = "instance"
    list_display = ("__str__", "issue", "author_display", "created_at")
    list_filter = ("instance",)
    raw_id_fields = ("issue",)
    fields = ("issue", "author_display", "body", "source_message_id", "created_at")
    readonly_fields = ("author_display", "source_message_id", "created_at")

    @admin.display(description="author")
    def author_display(self, comment: Comment) -> str:
        return author_of(comment)

    def get_readonly_fields(self, request: HttpRequest, obj: Comment | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "issue") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Comment, form: Any, change: bool) -> None:
        if change:
            comment_services.edit_comment(obj, obj.body, admin_context(request))
        else:
            if not request.user.is_authenticated:  # the admin only serves signed-in staff
                raise PermissionDenied
            obj.author = request.user
            comment_services.insert_comment(obj, ctx=admin_context(request))
