"""Configuration saved in the admin: the signal other apps hear it on, and the admin mixin that sends it.

Saving an instance, a profile, a mapping, a source or a project can leave an instance misconfigured (two enabled
profiles and a source that names none, a mapping to a project that does not exist). The app that can see the whole
configuration (``inbound.misconfiguration``) listens to :data:`configuration_saved` and warns at once, on the page
the admin lands on. jemh imports no other app, so the admins of every app send the signal through
:class:`ConfigurationAdminMixin` and the listener is connected from the listening app's ``ready()``.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal
from django.http import HttpRequest

# sent with sender=the model class, instance_id=the Instance's id, request=the admin's request
configuration_saved = Signal()


def configuration_changed(model: type, instance_id: int | None, request: HttpRequest) -> None:
    """Tell the listeners that the configuration of ``instance_id`` changed through ``request``."""
    if instance_id is not None:
        configuration_saved.send(sender=model, instance_id=instance_id, request=request)


class ConfigurationAdminMixin:
    """For a ModelAdmin of configuration: after a save (inlines included) or a deletion, the listeners of
    :data:`configuration_saved` look at the object's instance. Subclasses say which instance an object is of."""

    def configuration_instance_id(self, obj: Any) -> int | None:
        return getattr(obj, "instance_id", None)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]  # a ModelAdmin's
        configuration_changed(type(form.instance), self.configuration_instance_id(form.instance), request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        instance_id = self.configuration_instance_id(obj)
        super().delete_model(request, obj)  # type: ignore[misc]  # a ModelAdmin's
        if type(obj).__name__ != "Instance":
            configuration_changed(type(obj), instance_id, request)
