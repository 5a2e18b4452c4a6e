"""Secrets in the admin: write-only fields that are never displayed to anyone, at any permission level.

A secret (a mailbox password, an API token, a personal access token...) is shown only as "set" or "not set",
with a password box to replace it (left blank, the stored value stays) and a "clear" checkbox to remove it. The same
holds on view-only (read-only) change pages, where Django would otherwise print the stored value as text.

``SecretsAdminMixin`` does it for a ModelAdmin: every field that ``is_secret_field`` recognises on its model (an
encrypted field named like a credential), plus any named in ``extra_secret_fields``, gets a ``SecretField``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from jemh.fields import EncryptedJSONField, EncryptedTextField

# Names of credentials: passwords, tokens, secrets, keys, personal access tokens.
SECRET_NAME = re.compile(r"(^|_)(password|passwd|token|secret|pat|api_key|private_key|credentials?)($|_)")


def is_secret_field(field: models.Field[Any, Any]) -> bool:
    """Whether a model field holds a credential: an encrypted field named like one."""
    return isinstance(field, (EncryptedTextField, EncryptedJSONField)) and bool(SECRET_NAME.search(field.name))


def secret_field_names(model: type[models.Model]) -> tuple[str, ...]:
    """The credential fields of ``model``, in declaration order."""
    return tuple(f.name for f in model._meta.get_fields() if isinstance(f, models.Field) and is_secret_field(f))


class KEEP:
    """The cleaned value of an untouched secret field: the stored secret stays as it is."""


class SecretInput(forms.MultiWidget):
    """A password box that never renders a value, a "clear" checkbox, and whether a secret is stored.

    ``read_only`` makes Django's admin call ``render(name, value)`` (no renderer) for read-only rendering of the
    field: that call shows only "set" or "not set", never the value."""

    read_only = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            [forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), forms.CheckboxInput()],
            attrs,
        )

    def decompress(self, value: Any) -> list[Any]:
        return ["", False]  # the stored secret is never put back into the page

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[Any]:
        typed, clear = super().value_from_datadict(data, files, name)
        if not typed and f"{name}_0" not in data:
            typed = data.get(name, "")  # a plain field of that name (scripts, older forms) also replaces the secret
        return [typed, clear]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and super().value_omitted_from_data(data, files, name)

    @staticmethod
    def state(value: Any) -> str:
        return "set" if value else "not set"

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        if renderer is None and attrs is None:  # the admin's read-only rendering (AdminReadonlyField)
            return format_html('<span class="jemh-secret-state">{}</span>', self.state(value))
        inputs = super().render(name, value, attrs, renderer)
        clear_id = f"{(attrs or {}).get('id') or 'id_' + name}_1"
        return format_html(
            '<span class="jemh-secret-state">{}</span> {} <label for="{}">clear</label>'
            '<div class="help">Type a new value to replace it, leave it blank to keep it, or tick clear.</div>',
            self.state(value),
            inputs,
            clear_id,
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        for sub in context["widget"]["subwidgets"]:
            if sub["type"] == "password":
                sub["value"] = None  # belt and braces: PasswordInput(render_value=False) drops it too
        return context


class SecretField(forms.Field):
    """A write-only form field of a secret: cleans to the new value, to "" (cleared), or to ``KEEP``."""

    widget = SecretInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs["required"] = False
        kwargs.pop("max_length", None)
        kwargs.pop("empty_value", None)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        if self.disabled:
            return KEEP
        typed, clear = (value or ["", False]) if isinstance(value, (list, tuple)) else (value or "", False)
        if clear:
            return ""
        return typed if typed else KEEP

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial  # a re-displayed form says whether the *stored* secret is set

    def has_changed(self, initial: Any, data: Any) -> bool:
        typed, clear = (data or ["", False]) if isinstance(data, (list, tuple)) else (data or "", False)
        return bool(typed or clear)


class SecretsFormMixin(forms.ModelForm):
    """Puts the stored value back for every secret field left untouched (``KEEP``) before the model is built."""

    secret_names: tuple[str, ...] = ()

    def _post_clean(self) -> None:
        cleaned = getattr(self, "cleaned_data", None)
        if cleaned is not None:
            for name in self.secret_names:
                if cleaned.get(name) is KEEP:
                    cleaned[name] = getattr(self.instance, name) or "" if self.instance.pk else ""
        super()._post_clean()  # type: ignore[misc]  # BaseModelForm has it; the stubs do not say so


class SecretsAdminMixin(admin.ModelAdmin):
    """A ModelAdmin whose model's secrets are write-only everywhere (edit and view-only pages alike)."""

    extra_secret_fields: tuple[str, ...] = ()

    def secret_fields(self) -> tuple[str, ...]:
        return (*secret_field_names(self.model), *self.extra_secret_fields)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        listed = kwargs.get("fields")
        form = super().get_form(request, obj, change, **kwargs)
        shown = set(form.base_fields) | set(listed or ())
        read_only = set(self.get_readonly_fields(request, obj))
        view_only = change and not self.has_change_permission(request, obj)
        names = tuple(name for name in self.secret_fields() if name in shown)
        attrs: dict[str, Any] = {"secret_names": names}
        for name in names:
            model_field = self.model._meta.get_field(name)
            attrs[name] = SecretField(
                label=str(model_field.verbose_name).capitalize(),
                help_text=model_field.help_text or "Stored encrypted; never shown.",
                disabled=view_only or name in read_only,  # posted values of a read-only secret are ignored
            )
        return type(form.__name__, (SecretsFormMixin, form), attrs)

    def get_list_display(self, request: HttpRequest) -> Any:
        secrets = set(self.secret_fields())
        return [name for name in super().get_list_display(request) if name not in secrets]
