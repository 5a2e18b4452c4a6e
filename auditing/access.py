"""Recording who read what: raw mail read in the admin (``RawMailAccess``) and every view of the support views
(``SupportAccess``). A read is recorded before its response is returned, so nothing is shown unrecorded."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from auditing.models import RawMailAccess, RawRead, SupportAccess, SupportFlag, SupportSaw
from inbound.models import InboundMessage


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the server saw it (REMOTE_ADDR; behind a proxy, the proxy must set it)."""
    return request.META.get("REMOTE_ADDR") or None


def _user(request: HttpRequest) -> tuple[Any, str]:
    user = request.user
    return (user, str(user.get_username())) if user.is_authenticated else (None, "")


def record_raw_read(request: HttpRequest, message: InboundMessage, what: RawRead, detail: str = "") -> None:
    user, name = _user(request)
    RawMailAccess.objects.create(message=message, user=user, username=name, what=what, detail=detail)


def record_support_access(request: HttpRequest, flag: SupportFlag | None, what: SupportSaw) -> None:
    user, name = _user(request)
    SupportAccess.objects.create(flag=flag, user=user, username=name, what=what, client_address=client_address(request))
