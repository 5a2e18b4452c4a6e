"""The admin's read-only list of retention purge runs (registered from AuditingConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from auditing.models import PurgeRun
from jemh.admin_tenancy import InstanceScopedAdmin


@admin.register(PurgeRun)
class PurgeRunAdmin(InstanceScopedAdmin, admin.ModelAdmin):
    instance_path = "instance"
    list_display = ("started_at", "instance", "removed")
    list_filter = ("instance",)
    date_hierarchy = "started_at"
    readonly_fields = ("instance", "started_at", "finished_at", "counts")
    show_full_result_count = False

    @admin.display(description="Removed")
    def removed(self, obj: PurgeRun) -> str:
        return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(obj.counts.items()) if n) or "nothing"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
