"""Tenancy: the instances a user belongs to, and querysets cut down to them.

A user belongs to an instance when they are one of its ``members`` or its ``admins`` (the people told about its
problems are members too); a superuser belongs to every instance. Every model the admin shows declares its *scope*,
how a row reaches its instance:

- the ORM path to the instance's id: ``"instance"``, ``"profile__instance"``, ``"pk"`` (the Instance itself);
- a function of (queryset, the user's instance ids as a subquery) for the few rows reached otherwise (users,
  sign-in attempts, periodic tasks): it returns the rows of those instances;
- ``SITE_WIDE`` for models that hold no instance's data (groups, schedules): their rows are everyone's, and plain
  Django permissions decide.

The admin declares scopes through ``jemh.admin_tenancy.InstanceScopedAdmin`` (one attribute per ModelAdmin); this
module keeps them, so a form's foreign-key choices and a reference's validation know every model's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Q, QuerySet

from jemh.models import Instance

InstanceIds = QuerySet[Any]  # the user's instance ids, as a subquery (values_list("pk"))
ScopeFunction = Callable[[QuerySet[Any], InstanceIds], QuerySet[Any]]
Scope = str | ScopeFunction
SITE_WIDE: Final = "<site-wide>"

_SCOPES: dict[type[models.Model], Scope] = {}


def declare(model: type[models.Model], scope: Scope) -> None:
    """Record how rows of ``model`` reach their instance (the admin's declaration; the latest one holds)."""
    _SCOPES[model] = scope


def scope_of(model: type[models.Model]) -> Scope | None:
    """The declared scope of ``model`` (None: nothing declared)."""
    return _SCOPES.get(model)


def instance_ids_of(user: Any) -> InstanceIds | None:
    """The ids of the instances ``user`` belongs to, as a subquery; None for a superuser (every instance)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Instance.objects.none().values_list("pk", flat=True)
    if user.is_superuser:
        return None
    return Instance.objects.filter(Q(members=user.pk) | Q(admins=user.pk)).values_list("pk", flat=True)


def instances_of(user: Any) -> QuerySet[Instance]:
    """The instances ``user`` belongs to (every instance for a superuser)."""
    ids = instance_ids_of(user)
    return Instance.objects.all() if ids is None else Instance.objects.filter(pk__in=ids)


def scoped(queryset: QuerySet[Any], user: Any, scope: Scope | None = None) -> QuerySet[Any]:
    """The rows of ``queryset`` that belong to ``user``'s instances (all of them for a superuser or a site-wide
    model). ``scope`` defaults to the model's declared one; a model without one is a configuration error."""
    scope = scope if scope is not None else scope_of(queryset.model)
    if scope is None:
        raise ImproperlyConfigured(
            f"{queryset.model._meta.label} declares no instance scope: give its ModelAdmin an instance_path "
            "(jemh.admin_tenancy.InstanceScopedAdmin), or SITE_WIDE if it holds no instance's data."
        )
    ids = instance_ids_of(user)
    if ids is None or scope == SITE_WIDE:
        return queryset
    if callable(scope):
        return scope(queryset, ids)
    return queryset.filter(**{f"{scope}__in": ids})


def instance_id_of(obj: models.Model, path: str) -> int | None:
    """The id of the instance ``obj`` belongs to, following the path scope ``path`` (None: not reached yet)."""
    if path == "pk":
        return obj.pk
    *through, last = path.split("__")
    target: Any = obj
    for name in through:
        target = getattr(target, name, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def foreign_instance_errors(obj: models.Model) -> dict[str, str]:
    """The foreign keys of ``obj`` that name another instance's object than ``obj``'s own (field -> message)."""
    own_scope = scope_of(type(obj))
    if not isinstance(own_scope, str) or own_scope == SITE_WIDE:
        return {}
    own = instance_id_of(obj, own_scope)
    if own is None:
        return {}
    errors: dict[str, str] = {}
    for field in obj._meta.concrete_fields:
        if not field.many_to_one and not field.one_to_one:
            continue
        their_scope = scope_of(field.related_model)  # type: ignore[arg-type]
        if not isinstance(their_scope, str) or their_scope == SITE_WIDE or getattr(obj, field.attname) is None:
            continue
        theirs = instance_id_of(getattr(obj, field.name), their_scope)
        if theirs is not None and theirs != own:
            errors[field.name] = (
                f"This {field.verbose_name} belongs to another instance: choose one of this "
                f"{obj._meta.verbose_name}'s instance."
            )
    return errors


def users_of(queryset: QuerySet[Any], ids: InstanceIds) -> QuerySet[Any]:
    """The scope of users: the members and admins of the instances."""
    in_them = get_user_model().objects.filter(Q(member_instances__in=ids) | Q(administered_instances__in=ids))
    return queryset.filter(pk__in=in_them.values("pk"))
