"""The admin's pages for one e-mail address (a data subject), per instance: ``/admin/auditing/erasurerecord/subject/
<instance id>/``. Export (a zip download, behind ``auditing.export_subject``) and erase (a confirmation page that
lists what will go and asks whether the person's own texts are redacted too, behind ``auditing.erase_subject``); and
the read-only list of erasure records (registered from AuditingConfig.ready)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from auditing import subject
from auditing.models import ErasureRecord
from jemh import tenancy
from jemh.admin_tenancy import InstanceScopedAdmin
from jemh.models import Instance

EXPORT_SUBJECT = "auditing.export_subject"
ERASE_SUBJECT = "auditing.erase_subject"


class SubjectForm(forms.Form):
    address = forms.EmailField(label="E-mail address", max_length=320)


class EraseForm(SubjectForm):
    redact_texts = forms.BooleanField(
        required=False,
        label="Also redact the texts this person wrote (the issues they reported, their comments) and their "
        "attachments",
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


@admin.register(ErasureRecord)
class ErasureRecordAdmin(InstanceScopedAdmin, admin.ModelAdmin):
    instance_path = "instance"
    list_display = ("erased_at", "instance", "erased_by_name", "texts_redacted", "erased")
    list_filter = ("instance", "texts_redacted")
    readonly_fields = ("instance", "erased_at", "erased_by_name", "texts_redacted", "counts")
    exclude = ("erased_by",)
    change_list_template = None

    @admin.display(description="Erased")
    def erased(self, obj: ErasureRecord) -> str:
        return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(obj.counts.items()) if n) or "nothing"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("subject/<int:instance_id>/", wrap(self.export_view), name="auditing_erasurerecord_export"),
            path("subject/<int:instance_id>/erase/", wrap(self.erase_view), name="auditing_erasurerecord_erase"),
            *super().get_urls(),
        ]

    def _instance(self, request: HttpRequest, instance_id: int, permission: str) -> Instance:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(tenancy.scoped(Instance.objects.all(), request.user), pk=instance_id)

    def _page(self, request: HttpRequest, instance: Instance, **context: Any) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "instance": instance,
            "may_erase": request.user.has_perm(ERASE_SUBJECT),
            "may_export": request.user.has_perm(EXPORT_SUBJECT),
            **context,
        }
        return TemplateResponse(request, "auditing/admin/subject.html", context)

    def export_view(self, request: HttpRequest, instance_id: int) -> HttpResponse:
        instance = self._instance(request, instance_id, EXPORT_SUBJECT)
        form = SubjectForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            found = subject.find(instance, form.cleaned_data["address"])
            response = HttpResponse(subject.export_zip([found]), content_type="application/zip")
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            response["Content-Disposition"] = f'attachment; filename="subject-export-{instance.pk}-{stamp}.zip"'
            response["Cache-Control"] = "no-store"
            return response
        return self._page(request, instance, title=f"Export everything held about an address: {instance}", form=form)

    def erase_view(self, request: HttpRequest, instance_id: int) -> HttpResponse:
        instance = self._instance(request, instance_id, ERASE_SUBJECT)
        form = EraseForm(request.POST if request.method == "POST" else None)
        title = f"Erase everything held about an address: {instance}"
        if request.method != "POST" or not form.is_valid():
            return self._page(request, instance, title=title, form=form, erasing=True)
        found = subject.find(instance, form.cleaned_data["address"])
        if not form.cleaned_data["confirmed"]:  # first the confirmation: what will go
            confirm = EraseForm(initial={**form.cleaned_data, "confirmed": True})
            counts = {k.replace("_", " "): n for k, n in found.counts().items() if n}
            return self._page(
                request, instance, title=title, form=confirm, erasing=True, confirming=True, counts=counts
            )
        record = subject.erase(found, by=request.user, redact_texts=form.cleaned_data["redact_texts"])
        erased = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in record.counts.items()) or "nothing"
        self.message_user(request, f"Erased: {erased}. The erasure record holds no personal data.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:auditing_erasurerecord_change", args=[record.pk]))
