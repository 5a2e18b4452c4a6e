"""Tenants apart in the admin: every ModelAdmin shows, changes and offers only the rows of the user's instances.

``InstanceScopedAdmin`` does it for a ModelAdmin that declares ``instance_path`` (see ``jemh.tenancy`` for the
forms a scope takes: ``"instance"``, ``"profile__instance"``, ``"pk"``, a function, or ``SITE_WIDE``):

- its lists, change, delete and history pages, actions and autocomplete answers read ``get_queryset``, which keeps
  the rows of the user's instances (an object of another instance is "not found");
- the choices of its foreign keys and many-to-many fields are the related model's rows of the user's instances
  (inlines get the same from ``ScopedChoicesMixin``), and so are the choices of its list filters on relations
  (``InstanceRelatedFilter``: read from the related table, never by scanning the filtered one, which for an audit
  table of a million rows costs a full index scan per filter and page);
- its forms refuse a foreign key naming another instance's object than the edited object's own.

Adopting it: put ``InstanceScopedAdmin`` first among the bases and set ``instance_path``; inlines with foreign keys
other than their parent's take ``ScopedChoicesMixin``. Custom views read objects through
``self.get_queryset(request)`` (or ``jemh.tenancy.scoped``), never through the model's manager.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from jemh import tenancy


def scoped_choices(field: forms.Field | None, request: HttpRequest) -> forms.Field | None:
    """``field`` with its choices cut down to the user's instances (when the related model declares a scope)."""
    queryset = getattr(field, "queryset", None)
    if queryset is not None and tenancy.scope_of(queryset.model) is not None:
        field.queryset = tenancy.scoped(queryset, request.user)  # type: ignore[union-attr]
    return field


class InstanceRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """A list filter on a relation whose choices are the related model's rows of the user's instances. A related
    model without a declared scope lists only the rows the list shows (Django's ``RelatedOnlyFieldListFilter``: a
    query over the filtered table)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = field.remote_field.model
        if tenancy.scope_of(related) is None:
            return super().field_choices(field, request, model_admin)
        ours = tenancy.scoped(related._default_manager.all(), request.user).values("pk")
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to={"pk__in": ours}, ordering=ordering)


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices of the user's instances only (ModelAdmin and inlines)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return scoped_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), request)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return scoped_choices(super().formfield_for_manytomany(db_field, request, **kwargs), request)  # type: ignore[misc]


def same_instance_form(form_class: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """``form_class``, refusing foreign keys that name another instance's object than the edited one's."""

    class SameInstanceForm(form_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.instance.pk is not None:
                self._keep_current_choices()

        def _keep_current_choices(self) -> None:
            """The object's current users stay selectable, so saving it never silently drops one (a watcher who is
            no instance's member). Rows reached by a path (another instance's profile...) are not kept: refused."""
            for name, field in self.fields.items():
                queryset = getattr(field, "queryset", None)
                model_field = next((f for f in self.instance._meta.get_fields() if f.name == name), None)
                if queryset is None or model_field is None or not callable(tenancy.scope_of(queryset.model)):
                    continue
                if model_field.many_to_many and not model_field.auto_created:
                    current = getattr(self.instance, name).values("pk")
                elif model_field.many_to_one or model_field.one_to_one:
                    current = [getattr(self.instance, model_field.attname)]
                else:
                    continue
                field.queryset = queryset | queryset.model._default_manager.filter(pk__in=current)

        def _post_clean(self) -> None:
            super()._post_clean()
            for name, message in tenancy.foreign_instance_errors(self.instance).items():
                self.add_error(name if name in self.fields else None, message)

    SameInstanceForm.__name__ = form_class.__name__
    SameInstanceForm.__qualname__ = form_class.__qualname__
    return SameInstanceForm


class InstanceScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """A ModelAdmin that shows the user only their instances' rows (superusers: all). Declare ``instance_path``."""

    # a path, SITE_WIDE, or a function of (queryset, instance ids) wrapped in staticmethod()
    instance_path: ClassVar[str | staticmethod[Any, Any] | None] = None

    def __init__(self, model: type[models.Model], admin_site: Any) -> None:
        super().__init__(model, admin_site)
        scope = self.declared_scope()
        if scope is not None:
            tenancy.declare(model, scope)

    @classmethod
    def declared_scope(cls) -> tenancy.Scope | None:
        """The class's ``instance_path`` as declared (a function stays a plain function, not a bound method)."""
        for klass in cls.__mro__:
            if "instance_path" in vars(klass):
                scope = vars(klass)["instance_path"]
                return scope.__func__ if isinstance(scope, staticmethod) else scope
        return None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        scope = self.declared_scope()
        if scope is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} ({self.model._meta.label}) declares no instance_path: say how its rows reach "
                "their instance (e.g. 'instance', 'profile__instance'), or SITE_WIDE (jemh.admin_tenancy)."
            )
        return tenancy.scoped(super().get_queryset(request), request.user, scope)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [self._related_only(entry) for entry in super().get_list_filter(request)]

    def _related_only(self, entry: Any) -> Any:
        """A list filter on a relation lists only related rows of the user's instances (not every instance's)."""
        if not isinstance(entry, str):
            return entry
        try:
            field = get_fields_from_path(self.model, entry)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return entry
        return (entry, InstanceRelatedFilter) if field.is_relation else entry

    def get_form(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return same_instance_form(super().get_form(request, *args, **kwargs))
