"""List filters of the inbound audit that Django's own field filters do not give."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from inbound.models import InboundMessage, Outcome

ISSUE_OUTCOMES = (Outcome.CREATED, Outcome.COMMENTED)


class TrafficFilter(admin.SimpleListFilter):
    """Mail that wrote to an issue (created one or commented) against maintenance traffic: the processed messages
    that created or updated nothing (auto-replies, bounces, lists, rejections, errors...). Messages not processed
    yet (no outcome) are in neither."""

    title = "traffic"
    parameter_name = "traffic"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("issues", "created or commented"), ("maintenance", "maintenance (created or updated nothing)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> QuerySet[InboundMessage]:
        if self.value() == "issues":
            return queryset.filter(outcome__in=ISSUE_OUTCOMES)
        if self.value() == "maintenance":
            return queryset.exclude(outcome__in=ISSUE_OUTCOMES).exclude(outcome="")
        return queryset
