"""``{% getting_started as checklist %}``: the getting-started checklist (``inbound.checklist``) for the admin's
start page, as the signed-in user sees it."""

from __future__ import annotations

from typing import Any

from django import template

from inbound.checklist import Checklist, checklist_for

register = template.Library()


@register.simple_tag(takes_context=True)
def getting_started(context: dict[str, Any]) -> Checklist | None:
    request = context.get("request")
    if request is None or not request.user.has_perm("jemh.view_instance"):  # instances and their problems
        return None
    return checklist_for(request.user)
