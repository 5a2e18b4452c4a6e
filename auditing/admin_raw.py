"""Reading a message's stored raw mail in the admin, for users with ``auditing.view_raw_mail``: the text body and the
attachment list, the sanitised HTML body in a sandboxed frame, the full source, each attachment and the ``.eml`` as
downloads. Every read and download is recorded (``RawMailAccess``) and listed on the message's page.

A mixin of the inbound audit's ModelAdmin: its views hang under the message's admin URL and take the admin's own
login and staff check (``admin_view``) before checking the permission."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin

from auditing import mailview
from auditing.access import record_raw_read
from auditing.models import VIEW_RAW_MAIL, RawMailAccess, RawRead
from inbound import services
from inbound.models import InboundMessage

RAW_READS_SHOWN = 50  # the latest reads listed on the message's page


class RawMailAdminMixin:
    """The raw-mail pages of the inbound audit (see the module's docstring)."""

    admin_site: Any
    model: type[InboundMessage]

    def has_view_raw_mail_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(VIEW_RAW_MAIL))

    def raw_mail_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/mail/", wrap(self.raw_mail_view), name="inbound_inboundmessage_mail"),
            path(
                "<int:pk>/mail/html/",
                wrap(xframe_options_sameorigin(self.raw_html_view)),
                name="inbound_inboundmessage_mail_html",
            ),
            path("<int:pk>/mail/source/", wrap(self.raw_source_view), name="inbound_inboundmessage_mail_source"),
            path("<int:pk>/mail/eml/", wrap(self.raw_eml_view), name="inbound_inboundmessage_mail_eml"),
            path(
                "<int:pk>/mail/attachment/<int:index>/",
                wrap(self.raw_attachment_view),
                name="inbound_inboundmessage_mail_attachment",
            ),
        ]

    def _readable(self, request: HttpRequest, pk: int) -> InboundMessage:
        messages = self.get_queryset(request)  # type: ignore[attr-defined]  # the user's instances'
        message = get_object_or_404(messages.select_related("instance"), pk=pk)
        if not (self.has_view_permission(request, message) and self.has_view_raw_mail_permission(request)):  # type: ignore[attr-defined]
            raise PermissionDenied
        return message

    def _raw(self, message: InboundMessage) -> bytes:
        raw = services.raw_mail(message)
        if raw is None:
            raise Http404("The raw mail of this message is not stored (purged, or the instance keeps none).")
        return raw

    def raw_mail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._readable(request, pk)
        raw = services.raw_mail(message)
        view = mailview.mail_view(raw) if raw is not None else None
        if view is not None:
            record_raw_read(request, message, RawRead.MAIL)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Stored mail of inbound #{message.pk}",
            "message": message,
            "view": view,
            "frame": mailview.sandboxed_frame(reverse("admin:inbound_inboundmessage_mail_html", args=[pk]))
            if view is not None and view.html
            else "",
            "change_url": reverse("admin:inbound_inboundmessage_change", args=[pk]),
        }
        response = TemplateResponse(request, "auditing/admin/raw_mail.html", context)
        return mailview.no_store(response)

    def raw_html_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._readable(request, pk)
        view = mailview.mail_view(self._raw(message))
        record_raw_read(request, message, RawRead.HTML)
        return mailview.frame_response(view.html)

    def raw_source_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._readable(request, pk)
        raw = self._raw(message)
        record_raw_read(request, message, RawRead.SOURCE)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Full source of inbound #{message.pk}",
            "message": message,
            "source": mailview.mail_view(raw).source,
            "change_url": reverse("admin:inbound_inboundmessage_change", args=[pk]),
            "mail_url": reverse("admin:inbound_inboundmessage_mail", args=[pk]),
        }
        return mailview.no_store(TemplateResponse(request, "auditing/admin/raw_source.html", context))

    def raw_eml_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._readable(request, pk)
        raw = self._raw(message)
        record_raw_read(request, message, RawRead.EML)
        return mailview.eml_response(raw, f"inbound-{message.pk}")

    def raw_attachment_view(self, request: HttpRequest, pk: int, index: int) -> HttpResponse:
        message = self._readable(request, pk)
        attachment = mailview.mail_view(self._raw(message)).attachment(index)
        if attachment is None:
            raise Http404("No such attachment.")
        record_raw_read(request, message, RawRead.ATTACHMENT, attachment.filename or f"#{index}")
        return mailview.attachment_response(attachment)

    def raw_mail_context(self, request: HttpRequest, message: InboundMessage) -> dict[str, Any]:
        """What the message's page shows of its raw mail: the link to read it (with the permission) and the reads."""
        return {
            "can_read_raw": self.has_view_raw_mail_permission(request) and bool(message.raw_blob),
            "raw_mail_url": reverse("admin:inbound_inboundmessage_mail", args=[message.pk]),
            "raw_reads": list(RawMailAccess.objects.filter(message=message)[:RAW_READS_SHOWN]),
        }
