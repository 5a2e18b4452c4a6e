"""The admin's "Send feedback" page (``/admin/feedback/``): posts the host URL, the admin's e-mail address and
their text to the operator's chat webhook (notifications.chat), and nothing else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from jemh.models import Instance
from jemh.tenancy import instances_of
from notifications import chat
from notifications.choices import OutboundStatus


class FeedbackForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=Instance.objects.order_by("name"), help_text="Its host URL is sent.")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), max_length=5000)

    def __init__(self, *args: Any, instances: QuerySet[Instance], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instance"].queryset = instances.order_by("name")  # type: ignore[attr-defined]


@staff_member_required
def send_feedback(request: HttpRequest) -> HttpResponse:
    form = FeedbackForm(request.POST or None, instances=instances_of(request.user))  # the user's only
    if request.method == "POST" and form.is_valid() and chat.webhook_url():
        instance = form.cleaned_data["instance"]
        email = getattr(request.user, "email", "") or "(no e-mail address)"
        row = chat.post(instance, "feedback", chat.feedback_payload(instance, email, form.cleaned_data["text"]))
        if row is not None and row.status == OutboundStatus.SENT:
            messages.success(request, "Thank you: your feedback was sent.")
        else:
            messages.error(request, "The feedback could not be sent (see the outbound audit); try again later.")
        return redirect("feedback")
    context = {
        **admin.site.each_context(request),
        "title": "Send feedback",
        "form": form,
        "configured": bool(chat.webhook_url()),
    }
    return TemplateResponse(request, "notifications/admin/feedback.html", context)
