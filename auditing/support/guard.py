"""Support staff never open the admin, whatever else they are (staff, or given model permissions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden

from auditing.models import SUPPORT_ACCESS


def is_support_user(user: Any) -> bool:
    """A user who holds the support permission (the ``Support staff`` group, or given directly) and is not a
    superuser (who holds every permission by definition)."""
    return bool(user.is_authenticated and not getattr(user, "is_superuser", False) and user.has_perm(SUPPORT_ACCESS))


class SupportStaffOutsideAdmin:
    """Middleware: every admin page (the ``admin`` URL namespace, its login page included) answers 403 to a support
    user, with the way to the support views."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and "admin" in match.namespaces and is_support_user(request.user):
            return HttpResponseForbidden(
                "Support staff see flagged mail at /support/, not in the admin.", content_type="text/plain"
            )
        return None
