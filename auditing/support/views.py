"""The support views: the list of mail currently flagged for support and, per flag, what it shares (the mail
rendered safely, the processing report, the profile export) and the ``.eml``; every page view and download recorded.

Only users with ``auditing.view_flagged_mail`` get in (others: 403; anonymous: the support login). Whatever the
user is besides, these views read nothing but the snapshots of *active* flags of the user's instances
(``jemh.tenancy``: support users are members of the instances they support; superusers see all): a flag that is
unknown, withdrawn, expired or of another instance answers 404, whatever the URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin

from auditing import mailview
from auditing.access import record_support_access
from auditing.flags import Shared, shared
from auditing.models import SUPPORT_ACCESS, SupportFlag, SupportSaw
from inbound.pipeline.report_table import report_table
from jemh.tenancy import scoped

LOGIN = reverse_lazy("support:login")
View = Callable[..., HttpResponse]


class SupportLoginView(auth_views.LoginView):
    """Django's login, on the support views' own page; then the list of flagged mail."""

    template_name = "support/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("support:flags")


class SupportLogoutView(auth_views.LogoutView):
    def get_default_redirect_url(self) -> str:
        return reverse("support:login")


def support_only(view: View) -> View:
    """Login (the support login page), then the support permission; never cached."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(SUPPORT_ACCESS):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(login_required(checked, login_url=LOGIN))


def active_flags(request: HttpRequest) -> Any:
    """The flags support may see now: the active ones of the user's instances."""
    return scoped(SupportFlag.objects.active(), request.user, "instance").select_related("instance")


def active_flag(request: HttpRequest, flag_id: int) -> SupportFlag:
    """The flag, if this user may see it now; 404 otherwise (unknown, withdrawn, expired or another instance's)."""
    flag = active_flags(request).filter(pk=flag_id).first()
    if flag is None:
        raise Http404("Nothing is flagged for support here.")
    return flag


def _shared(flag: SupportFlag) -> Shared:
    try:
        return shared(flag)
    except OSError as exc:  # the snapshots went with an unflag or expiry that raced this request
        raise Http404("Nothing is flagged for support here.") from exc


@support_only
def flag_list(request: HttpRequest) -> HttpResponse:
    flags = list(active_flags(request))
    record_support_access(request, None, SupportSaw.LIST)
    return render(request, "support/flag_list.html", {"flags": flags})


@support_only
def flag_item(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = active_flag(request, flag_id)
    snapshot = _shared(flag)
    view = mailview.mail_view(snapshot.raw)
    record_support_access(request, flag, SupportSaw.ITEM)
    context = {
        "flag": flag,
        "view": view,
        "frame": mailview.sandboxed_frame(reverse("support:html", args=[flag.pk])) if view.html else "",
        "report": report_table(snapshot.report),  # no issue links: they lead into the admin
        "profile_json": json.dumps(snapshot.profile, indent=2, ensure_ascii=False) if snapshot.profile_json else "",
    }
    return mailview.no_store(render(request, "support/flag_item.html", context))


@xframe_options_sameorigin
@support_only
def flag_html(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = active_flag(request, flag_id)
    html = mailview.mail_view(_shared(flag).raw).html
    record_support_access(request, flag, SupportSaw.HTML)
    return mailview.frame_response(html)


@support_only
def flag_eml(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = active_flag(request, flag_id)
    raw = _shared(flag).raw
    record_support_access(request, flag, SupportSaw.EML)
    return mailview.eml_response(raw, f"flag-{flag.pk}")


@support_only
def flag_profile(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = active_flag(request, flag_id)
    snapshot = _shared(flag)
    if not snapshot.profile_json:
        raise Http404("No profile export was taken with this flag.")
    record_support_access(request, flag, SupportSaw.PROFILE)
    return mailview.download_response(
        snapshot.profile_json.encode(), f"profile-flag-{flag.pk}.json", content_type="application/json"
    )
