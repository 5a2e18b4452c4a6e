"""The source admin's OAuth sign-in: "Connect with Google/Microsoft" sends the browser to the provider (the
authorization-code flow with PKCE), and the provider sends it back to one callback, which checks the ``state``
this browser's session holds, exchanges the code and stores the tokens on the source.

Both views find the source through the admin's own queryset (so an admin sees only what the admin may see) and
need the permission to change it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from inbound.models import Source
from inbound.sources import oauth as source_oauth
from jemh import oauth

log = logging.getLogger(__name__)

SESSION_KEY = "jemh_oauth_signins"
SIGN_IN_TTL = timedelta(minutes=15)
CALLBACK_NAME = "inbound_source_oauth_callback"


def callback_url(request: HttpRequest) -> str:
    """The redirect URL to register at the provider (the same for every source and instance of this site)."""
    return request.build_absolute_uri(reverse(f"admin:{CALLBACK_NAME}"))


class OAuthSignInAdminMixin(admin.ModelAdmin):
    """Adds the sign-in views and the "connected mailbox" panel to the Source admin."""

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/oauth/connect/",
                self.admin_site.admin_view(self.oauth_connect_view),
                name="inbound_source_oauth_connect",
            ),
            path("oauth/callback/", self.admin_site.admin_view(self.oauth_callback_view), name=CALLBACK_NAME),
        ]
        return own + super().get_urls()

    def _changeable_source(self, request: HttpRequest, object_id: str) -> Source:
        source = self.get_object(request, object_id)  # through the user's instances: another's is "not found"
        if source is None:
            raise Http404("No such source.")
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        return source

    def oauth_connect_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        source = self._changeable_source(request, object_id)
        change_url = reverse("admin:inbound_source_change", args=[source.pk])
        if not source.uses_oauth or source.app_only:
            self.message_user(request, "This source does not sign in with OAuth in the browser.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            app = source_oauth.oauth_app(source)
            started = oauth.start_authorization(app, callback_url(request), source_oauth.scopes_for(source))
        except (source_oauth.TokenUnavailable, oauth.OAuthFailure) as exc:
            self.message_user(request, f"Cannot sign in: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        pending = {
            state: item
            for state, item in request.session.get(SESSION_KEY, {}).items()
            if item.get("until", 0) > timezone.now().timestamp()
        }
        pending[started.state] = {
            "source": source.pk,
            "verifier": started.code_verifier,
            "until": (timezone.now() + SIGN_IN_TTL).timestamp(),
        }
        request.session[SESSION_KEY] = pending
        return HttpResponseRedirect(started.url)

    def oauth_callback_view(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        pending = dict(request.session.get(SESSION_KEY, {}))
        item = pending.pop(state, None) if state else None
        request.session[SESSION_KEY] = pending
        if item is None or item.get("until", 0) <= timezone.now().timestamp():
            return HttpResponseBadRequest(
                "This sign-in was not started here, or it took too long. Start it again from the source's page."
            )
        source = self._changeable_source(request, str(item["source"]))
        change_url = reverse("admin:inbound_source_change", args=[source.pk])
        if "error" in request.GET:
            said = request.GET.get("error_description") or request.GET["error"]
            self.message_user(request, f"The provider did not sign in: {said}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            app = source_oauth.oauth_app(source)
            tokens = oauth.finish_authorization(
                app, callback_url(request), request.GET.get("code", ""), item["verifier"]
            )
        except (source_oauth.TokenUnavailable, oauth.OAuthFailure) as exc:
            self.message_user(request, f"Sign-in failed: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        source_oauth.connect(source, tokens)
        self.message_user(request, f"Connected to the mailbox of {tokens.account or 'the signed-in account'}.")
        return HttpResponseRedirect(change_url)

    @admin.display(description="OAuth connection")
    def oauth_connection(self, source: Source) -> Any:
        if not source.pk or not source.uses_oauth:
            return "-"
        if source.app_only:
            state = (
                f"app-only access to {source.username or '(no mailbox address set)'}; "
                f"token last fetched {_when(source.oauth_refreshed_at)}"
            )
            return state
        if source.oauth_refresh_token:
            state = format_html(
                "Connected to <strong>{}</strong> on {}; access token last refreshed {}.",
                source.oauth_account or "an account that gave no address",
                _when(source.oauth_connected_at),
                _when(source.oauth_refreshed_at),
            )
        else:
            state = mark_safe("<strong>Not connected</strong>: sign in to let us read this mailbox.")  # a constant
        return format_html(
            '{} <a class="button" href="{}">Connect with {}</a>',
            state,
            reverse("admin:inbound_source_oauth_connect", args=[source.pk]),
            source.oauth_provider_name,
        )


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}" if moment else "never"
