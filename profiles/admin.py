"""Admin of profiles: Profile (with its catch addresses, mappings and rules as inlines), ProjectMapping (with its
rules); export of a profile as JSON and an import view linked from the profile list. Test cases are run by the
pipeline, so their admin lives with it, in ``inbound.admin``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from jemh.models import Instance
from profiles import inheritance
from profiles.forms import MappingInlineFormSet, ProfileImportForm
from profiles.mapping_form import ProjectMappingForm, default_mapping_initial, mapping_form_for
from profiles.models import (
    AttachmentExclusion,
    CatchAddress,
    DirectiveAlias,
    FieldProcessor,
    FilterRule,
    Hint,
    KnownFingerprint,
    MappingRule,
    Profile,
    ProjectMapping,
    WorkflowAdvanceRule,
)
from profiles.portability import ProfileImportError, export_profile_json, import_profile

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec

MAPPING_FIELDS = ("name", "is_default", *inheritance.INHERITABLE_FIELDS)


class CatchAddressInline(admin.TabularInline):
    model = CatchAddress
    extra = 1


def vocabulary_instance(instance: Instance | None) -> Instance | None:
    """Whose tracker a mapping's form asks for choices: the profile's instance; on a new profile, the only one."""
    if instance is not None:
        return instance
    only = list(Instance.objects.order_by("pk")[:2])
    return only[0] if len(only) == 1 else None


class ProjectMappingInline(admin.StackedInline):
    model = ProjectMapping
    form = ProjectMappingForm
    formset = MappingInlineFormSet
    fields = MAPPING_FIELDS
    extra = 0
    min_num = 1
    show_change_link = True
    verbose_name_plural = "project mappings (rules are edited on each mapping's own page)"

    def get_formset(self, request: HttpRequest, obj: Profile | None = None, **kwargs: Any) -> Any:
        instance = obj.instance if obj is not None and obj.instance_id else None  # a new profile's, once chosen
        kwargs["form"] = mapping_form_for(vocabulary_instance(instance))
        return super().get_formset(request, obj, **kwargs)


class FilterRuleInline(admin.TabularInline):
    model = FilterRule
    extra = 0


class HintInline(admin.StackedInline):
    model = Hint
    extra = 0
    verbose_name_plural = "hint texts (reasons not listed use the polite default)"


class DirectiveAliasInline(admin.TabularInline):
    model = DirectiveAlias
    extra = 0


class FieldProcessorInline(admin.TabularInline):
    model = FieldProcessor
    extra = 0


class AttachmentExclusionInline(admin.TabularInline):
    model = AttachmentExclusion
    extra = 0


class KnownFingerprintInline(admin.TabularInline):
    model = KnownFingerprint
    extra = 0


class WorkflowAdvanceRuleInline(admin.TabularInline):
    model = WorkflowAdvanceRule
    extra = 0


PROFILE_FIELDSETS: _FieldsetSpec = (
    (None, {"fields": ("instance", "name", "description", "enabled")}),
    ("Catch addresses and forwarding", {"fields": ("non_catch_action", "forward_to", "reply_address")}),
    (
        "Filters",
        {
            "fields": (
                "own_mail_action",
                "auto_reply_action",
                "bounce_action",
                "bulk_action",
                "spam_action",
                "sender_exclusion_action",
                "flood_limit_per_hour",
                "flood_action",
            )
        },
    ),
    (
        "Directives",
        {
            "fields": (
                "directives_on_create",
                "directives_on_comment",
                "processor_at_prefix",
                "processor_subject_hash",
                "processor_colon",
                "processor_headers",
                "processor_regex",
                "directive_allow_list",
                "directive_block_list",
                "directives_within_sender_rights",
                "email_only_directives",
            )
        },
    ),
    (
        "Issue association",
        {
            "fields": (
                "association_order",
                "associate_by_directive",
                "associate_by_foreign_key",
                "associate_by_subject_key",
                "associate_by_own_message_id",
                "associate_by_thread_headers",
                "use_in_reply_to",
                "use_references",
                "subject_key_pattern",
                "foreign_key_pattern",
                "foreign_key_field",
            )
        },
    ),
    (
        "Rejection rules",
        {
            "fields": (
                "resolved_reject_after_days",
                "resolved_action",
                "comment_only_no_match_action",
                "participants_only",
            )
        },
    ),
    (
        "Loop limits",
        {
            "fields": (
                "max_comments_per_issue",
                "comment_limit_action",
                "max_comments_per_issue_per_hour",
                "comment_rate_action",
                "max_body_chars",
                "body_too_large_action",
            )
        },
    ),
    (
        "Content and attachments",
        {
            "fields": (
                "comment_reply_text_only",
                "body_to_markdown",
                "drop_duplicate_attachments",
                "keep_inline_images",
            )
        },
    ),
    ("Sender authentication", {"fields": ("sender_authentication",)}),
    ("Hints", {"fields": ("send_hints", "hint_grace_hours")}),
)


def _download(profile: Profile, include_test_cases: bool) -> HttpResponse:
    response = HttpResponse(export_profile_json(profile, include_test_cases), content_type="application/json")
    filename = f"profile-{slugify(profile.name) or profile.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "instance", "enabled", "non_catch_action", "catch_address_list")
    list_filter = ("instance", "enabled")
    search_fields = ("name", "description")
    fieldsets = PROFILE_FIELDSETS
    inlines = (
        CatchAddressInline,
        ProjectMappingInline,
        FilterRuleInline,
        DirectiveAliasInline,
        FieldProcessorInline,
        AttachmentExclusionInline,
        KnownFingerprintInline,
        WorkflowAdvanceRuleInline,
        HintInline,
    )
    actions = ("export_json", "export_json_with_test_cases")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Profile]:
        return super().get_queryset(request).select_related("instance").prefetch_related("catch_addresses")

    def get_formset_kwargs(self, request: HttpRequest, obj: Profile | None, inline: Any, prefix: str) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ProjectMappingInline) and obj is not None and obj.pk is None and request.method != "POST":
            kwargs["initial"] = [default_mapping_initial(vocabulary_instance(None))]  # a new profile's default mapping
        return kwargs

    @admin.display(description="catch addresses")
    def catch_address_list(self, profile: Profile) -> str:
        return ", ".join(c.address for c in profile.catch_addresses.all()) or "—"

    def _export(
        self,
        request: HttpRequest,
        queryset: QuerySet[Profile],
        include_test_cases: bool,
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one profile to export.", messages.WARNING)
            return None
        return _download(queryset.get(), include_test_cases)

    def has_export_with_mail_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("profiles.export_profile_with_mail"))

    @admin.action(description="Export the selected profile as JSON (configuration only)", permissions=["view"])
    def export_json(self, request: HttpRequest, queryset: QuerySet[Profile]) -> HttpResponse | None:
        return self._export(request, queryset, include_test_cases=False)

    @admin.action(
        description="Export the selected profile as JSON with its test cases (contains mail!)",
        permissions=["export_with_mail"],
    )
    def export_json_with_test_cases(self, request: HttpRequest, queryset: QuerySet[Profile]) -> HttpResponse | None:
        return self._export(request, queryset, include_test_cases=True)

    def get_urls(self) -> list[URLPattern]:
        custom = [path("import/", self.admin_site.admin_view(self.import_view), name="profiles_profile_import")]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return TemplateResponse(
                request,
                "admin/profiles/profile/import.html",
                {
                    **self.admin_site.each_context(request),
                    "denied": True,
                    "title": "Import a profile",
                },
                status=403,
            )
        form = ProfileImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                profile = import_profile(
                    form.cleaned_data["data"], form.cleaned_data["instance"], name=form.cleaned_data["name"] or None
                )
            except ProfileImportError as exc:
                form.add_error(None, str(exc))
            else:
                self.log_addition(request, profile, "Imported from a profile export.")
                self.message_user(request, f"Imported profile {profile.name!r}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:profiles_profile_change", args=[profile.pk]))
        return render(
            request,
            "admin/profiles/profile/import.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "title": "Import a profile",
                "opts": self.model._meta,
            },
        )


class MappingRuleInline(admin.TabularInline):
    model = MappingRule
    extra = 1


@admin.register(ProjectMapping)
class ProjectMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "profile", "is_default", "project_key", "issue_type", "operating_mode")
    list_filter = ("profile__instance", "profile", "is_default")
    search_fields = ("name", "project_key")
    fields = ("profile", *MAPPING_FIELDS, "effective_values")
    readonly_fields = ("effective_values",)
    inlines = (MappingRuleInline,)

    def get_form(
        self, request: HttpRequest, obj: ProjectMapping | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = mapping_form_for(vocabulary_instance(obj.profile.instance if obj is not None else None))
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="effective values")
    def effective_values(self, mapping: ProjectMapping) -> str:
        if not mapping.pk:
            return "—"
        default = mapping.profile.mappings.filter(is_default=True).first()
        values, inherited = inheritance.resolve(mapping.own_values(), default.own_values() if default else {})
        if mapping.is_default:
            inherited = frozenset()
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            (
                (
                    name,
                    ", ".join(value) if isinstance(value, tuple) else value or "—",
                    "inherited" if name in inherited else "",
                )
                for name, value in values.items()
            ),
        )
        return format_html("<table>{}</table>", rows)

    def get_inlines(self, request: HttpRequest, obj: ProjectMapping | None = None) -> Any:
        return () if obj is not None and obj.is_default else self.inlines
