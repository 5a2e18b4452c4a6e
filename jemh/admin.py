from django.contrib import admin

from jemh.models import Instance


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "tracker_kind", "base_url", "store_raw_mail", "raw_mail_retention_days")
    list_filter = ("tracker_kind", "store_raw_mail")
    search_fields = ("name", "base_url")
    filter_horizontal = ("admins",)
    fieldsets = (
        (None, {"fields": ("name", "tracker_kind", "base_url", "admins")}),
        (
            "Data retention",
            {
                "fields": (
                    "store_raw_mail",
                    "store_outbound_mail",
                    "raw_mail_retention_days",
                    "audit_retention_days",
                    "failure_retention_days",
                    "event_retention_days",
                    "outbound_retention_days",
                )
            },
        ),
    )
