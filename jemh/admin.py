"""Admin of the instance (the tenant), of the periodic tasks Celery beat runs, of django-axes' sign-in
throttling (the locked-out attempts, for unlocking), and of users and groups: every one scoped to the user's
instances (jemh.admin_tenancy)."""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ClassVar

from axes import admin as axes_admin
from axes.conf import settings
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from jemh import tenancy
from jemh.admin_secrets import SecretsAdminMixin
from jemh.admin_tenancy import InstanceScopedAdmin
from jemh.configuration import ConfigurationAdminMixin
from jemh.models import Instance, OAuthApp, TrackerKind, new_webhook_token
from jemh.storage import storage_names

_request: ContextVar[HttpRequest | None] = ContextVar("jemh_admin_request", default=None)


def webhook_url(instance: Instance, request: HttpRequest | None = None) -> str:
    """The full URL to paste into Jira's webhook form (the path alone when there is no request to take the host
    from)."""
    path = reverse("jira-webhook", kwargs={"token": instance.jira_webhook_token})
    return request.build_absolute_uri(path) if request is not None else path


class InstanceForm(forms.ModelForm):
    """The instance form. Jira credentials are write-only (see jemh.admin_secrets): typed in, never displayed."""

    class Meta:
        model = Instance
        fields = "__all__"


# Read-only lines other apps add to the instance's page ("Data retention"): (label, function of the instance).
# Registered from their AppConfig.ready(); jemh imports no other app.
INSTANCE_SUMMARIES: list[tuple[str, Callable[[Instance], str]]] = []


@admin.register(Instance)
class InstanceAdmin(ConfigurationAdminMixin, InstanceScopedAdmin, SecretsAdminMixin, admin.ModelAdmin):
    instance_path = "pk"
    extra_secret_fields = ("jira_email",)  # not a credential, but it names the account the token is of
    form = InstanceForm
    readonly_fields = ("jira_webhook", "retention_status")
    actions: list[str] = ["new_webhook_tokens"]
    list_display = ("name", "tracker_kind", "base_url", "jira_credentials", "store_raw_mail", "raw_mail_retention_days")
    list_filter = ("tracker_kind", "store_raw_mail")
    search_fields = ("name", "base_url")
    filter_horizontal = ("members", "admins")

    def configuration_instance_id(self, obj: Instance) -> int | None:
        return obj.pk

    fieldsets = (
        (None, {"fields": ("name", "tracker_kind", "base_url", "members", "admins")}),
        (
            "Jira connection",
            {"fields": ("jira_deployment", "jira_email", "jira_api_token", "jira_pat", "jira_max_concurrency")},
        ),
        ("Jira webhook", {"fields": ("jira_webhook", "jira_webhook_secret")}),
        (
            "Data retention",
            {
                "fields": (
                    "blob_storage",
                    "store_raw_mail",
                    "store_outbound_mail",
                    "raw_mail_retention_days",
                    "audit_retention_days",
                    "failure_retention_days",
                    "event_retention_days",
                    "outbound_retention_days",
                    "support_flag_days",
                    "retention_status",
                )
            },
        ),
        ("Outbound limits", {"fields": ("max_mail_per_issue_per_hour", "max_mail_per_hour")}),
        ("Outbound mail", {"fields": ("graph_send_as",)}),
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and not request.user.is_superuser:
            form.instance.members.add(request.user)  # who makes an instance works on it (else it would vanish)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "blob_storage":  # the storages JEMH_BLOB_STORAGES configures (residency)
            choices = [("", "the default storage"), *((name, name) for name in storage_names())]
            return forms.ChoiceField(
                choices=choices, required=False, label=db_field.verbose_name, help_text=db_field.help_text
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Purge")
    def retention_status(self, obj: Instance) -> str:
        if not obj.pk:
            return "-"
        return (
            format_html_join(
                mark_safe("<br>"), "{}: {}", ((label, summary(obj)) for label, summary in INSTANCE_SUMMARIES)
            )
            or "-"
        )

    @admin.display(description="Jira credentials")
    def jira_credentials(self, obj: Instance) -> str:
        if obj.tracker_kind != "jira":
            return "-"
        return "set" if obj.jira_credentials_set else "not set"

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reset = _request.set(request)  # the webhook URL is shown with the host the admin is reached at
        try:
            response = super().changeform_view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if render is not None:  # a TemplateResponse renders later, after the request variable is reset
                render()
            return response
        finally:
            _request.reset(reset)

    @admin.display(description="Webhook URL")
    def jira_webhook(self, obj: Instance) -> str:
        if not obj.pk or not obj.jira_webhook_token:
            return "Made when the instance is saved."
        request = _request.get()
        if request is None or not self.has_change_permission(request, obj):
            # the token admits deliveries (alone, when no secret is set): a secret, shown only to who may change it
            return "set (shown to users who may change the instance)"
        url = webhook_url(obj, request)
        if obj.jira_webhook_secret:
            how = (
                "Paste this URL and the same secret into Jira's webhook form (Jira Cloud: System → WebHooks; "
                "Data Center 10: Administration → System → WebHooks). Every delivery must carry Jira's signature "
                "(X-Hub-Signature, HMAC-SHA256 of the body under the secret); unsigned or wrongly signed ones are "
                "refused."
            )
            return format_html("<code>{}</code><br>{}", url, how)
        warning = (
            "No webhook secret is set: the token in this URL alone admits a delivery. That is weaker: anyone who "
            "learns the URL (e.g. from a proxy log) can post events that send notification mail. Jira Cloud and Jira "
            "Data Center 10 and later sign deliveries: set a secret here and the same one in Jira's webhook form. "
            "Keep the URL private; the action “New webhook URL” replaces it."
        )
        return format_html("<code>{}</code><br><strong>{}</strong>", url, warning)

    @admin.action(
        description="New webhook URL (the old one stops working: paste the new one into Jira)", permissions=["change"]
    )
    def new_webhook_tokens(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        changed = 0
        for instance in queryset.filter(tracker_kind=TrackerKind.JIRA):
            instance.set_webhook_token(new_webhook_token())
            instance.save(update_fields=["jira_webhook_token", "jira_webhook_token_hash"])
            changed += 1
        self.message_user(
            request,
            f"{changed} Jira instance(s) have a new webhook URL: open each and paste it into Jira's webhook form.",
            messages.SUCCESS if changed else messages.WARNING,
        )


# The sign-in callback is a view of the Source admin (inbound); it is named here, never imported.
OAUTH_CALLBACK = "admin:inbound_source_oauth_callback"


@admin.register(OAuthApp)
class OAuthAppAdmin(InstanceScopedAdmin, SecretsAdminMixin, admin.ModelAdmin):
    """An instance's OAuth client at Google or Microsoft; the client secret is write-only. The page shows the
    redirect URL to register with the provider."""

    instance_path = "instance"
    list_display = ["instance", "provider", "client_id", "tenant"]
    list_filter = ["provider", "instance"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "client_id" in form.base_fields:  # base_fields belong to this request's fresh form class
            form.base_fields["client_id"].help_text = format_html(
                "Register this redirect URL with the provider (Google Cloud console, or Microsoft Entra "
                "app registrations, as a Web platform): <code>{}</code>",
                request.build_absolute_uri(reverse(OAUTH_CALLBACK)),
            )
        return form


class PeriodicTaskAdmin(InstanceScopedAdmin, beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's periodic task admin, its actions behind the change permission (the package's own
    declare none, so a user who may only view tasks could enable, disable or run them). Site-wide here; ``inbound``
    registers a subclass that keeps a source's poll task to its instance."""

    instance_path: ClassVar["str | staticmethod[Any, Any] | None"] = tenancy.SITE_WIDE

    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().run_tasks(request, queryset)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)


def sign_ins_of(queryset: QuerySet[Any], ids: tenancy.InstanceIds) -> QuerySet[Any]:
    """The scope of axes' records: those of the usernames of the instances' users (other usernames: superusers)."""
    users = tenancy.users_of(get_user_model().objects.all(), ids)
    return queryset.filter(username__in=users.values(get_user_model().USERNAME_FIELD))


class AccessAttemptAdmin(InstanceScopedAdmin, axes_admin.AccessAttemptAdmin):
    """django-axes' failed sign-ins (unlock by deleting them), with its one action behind the delete permission
    (axes declares none, so a user who may only view attempts could delete the expired ones)."""

    instance_path = staticmethod(sign_ins_of)

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        """Axes' cleanup, of the user's instances' attempts only (axes' own deletes every instance's)."""
        cool_off = get_cool_off(request)
        if cool_off is None:
            self.message_user(request, "No cool-off time is set: attempts never expire.", messages.WARNING)
            return
        expired = self.get_queryset(request)
        if settings.AXES_USE_ATTEMPT_EXPIRATION:
            expired = expired.filter(expiration__expires_at__lte=timezone.now())
        else:
            expired = expired.filter(attempt_time__lte=timezone.now() - cool_off)
        count, _ = expired.delete()
        self.message_user(request, f"Cleaned up {count} expired access attempts.")


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
# axes registers its logs' admins whether or not it writes them: no empty pages for logs switched off in settings.
if settings.AXES_DISABLE_ACCESS_LOG:
    admin.site.unregister(AccessLog)
if not settings.AXES_ENABLE_ACCESS_FAILURE_LOG:
    admin.site.unregister(AccessFailureLog)


def rescope(model: type[Model], scope: tenancy.Scope) -> None:
    """Register ``model``'s current (third-party) admin again, scoped: a subclass with ``InstanceScopedAdmin``."""
    current = type(admin.site._registry[model])
    attributes = {
        "instance_path": staticmethod(scope) if callable(scope) else scope,
        "__module__": __name__,
        "__doc__": current.__doc__,
    }
    admin.site.unregister(model)
    admin.site.register(model, type(current.__name__, (InstanceScopedAdmin, current), attributes))


for site_wide in (Group, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    rescope(site_wide, tenancy.SITE_WIDE)  # roles and schedules: no instance's data
for axes_log in (AccessLog, AccessFailureLog):
    if axes_log in admin.site._registry:
        rescope(axes_log, sign_ins_of)


class UserAdmin(InstanceScopedAdmin, auth_admin.UserAdmin):
    """Users, scoped: a tenant's staff see the members and admins of their instances, never a superuser (whose
    password they could otherwise change), may not make anyone a superuser, and a user they add joins their
    instances."""

    instance_path = staticmethod(tenancy.users_of)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.exclude(is_superuser=True)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else (*readonly, "is_superuser")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:
            obj.member_instances.add(*tenancy.instances_of(request.user))


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserAdmin)
