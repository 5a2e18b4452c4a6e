"""Tenants apart (issue 14, point 8): every staff user saw every instance's mail, profiles and issues. A staff member
of instance A, holding every permission, walks every admin page of every registered model, every admin action,
every custom admin URL and the support views, and nothing of instance B is visible or changeable: B's object ids
answer 302 or 404 and B's texts (all tagged with ``MARK``) appear in no response.

Models, actions and URLs come from the registry and the URLconf (through the permission matrix's tables, which fail
until a new URL is listed there), so what other work adds later is walked too. A registered model whose admin does
not declare how its rows reach their instance fails ``test_every_admin_declares_its_instance_scope``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_celery_beat.models import PeriodicTask

from auditing.models import SUPPORT_ACCESS
from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import process_inbound
from inbound.tasks import schedule_name
from jemh import tenancy
from jemh.admin_tenancy import InstanceScopedAdmin
from jemh.models import Instance
from profiles.models import CatchAddress, Profile, ProjectMapping
from tests.auditing.test_permission_matrix import (
    EXTRA_URLS,
    STANDARD_PAGES,
    SUPPORT_GROUP,
    SUPPORT_URLS,
    expected_status,
    label,
    make_world,
    page_url,
    registry,
    snapshot,
)
from tests.pipeline.conftest import DEFAULT_MAPPING
from trackers.models import Project

pytestmark = pytest.mark.django_db

MARK = "bravo7"  # in every text of instance B's rows


def other_world() -> dict[str, Any]:
    """Instance B with one object of every registered model, each text of its own rows tagged with ``MARK``."""
    other = Instance.objects.create(name=f"Tenant {MARK}")
    for key in ("SUP", "BIL"):
        Project.objects.create(instance=other, key=key, name=f"{key} {MARK}")
    profile = Profile.objects.create(
        instance=other, name=f"Support {MARK}", reply_address="support@support.example.com", forward_to="a@b.example"
    )
    ProjectMapping.objects.create(profile=profile, **{**DEFAULT_MAPPING, "name": f"Default {MARK}"})
    CatchAddress.objects.create(profile=profile, address="support@support.example.com")
    pipe = Source.objects.create(instance=other, name=f"pipe-{MARK}", kind=SourceKind.PIPE, profile=profile)

    def deliver(raw: bytes) -> InboundMessage:
        message = capture(pipe, raw).message
        assert message is not None
        process_inbound(message.pk)
        message.refresh_from_db()
        return message

    world = make_world(other, pipe, deliver, tag=MARK)
    # B's periodic task: its source's poll task (the world's own is a site task, everyone's)
    world["django_celery_beat.PeriodicTask"] = PeriodicTask.objects.get(name=schedule_name(pipe.pk))
    return world


@pytest.fixture()
def worlds(
    instance: Instance, pipe: Source, deliver: Callable[..., InboundMessage]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(A's world, B's world)."""
    return make_world(instance, pipe, deliver), other_world()


def member_of(instance: Instance, username: str, *, support: bool = False) -> Client:
    """A signed-in client of a staff member of ``instance`` holding every permission (or, ``support``, of a support
    user of it)."""
    user = get_user_model().objects.create_user(username, f"{username}@example.org", is_staff=not support)
    if support:
        user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    else:  # every permission but support's own, which keeps its holder out of the admin (auditing.support.guard)
        user.user_permissions.set(Permission.objects.exclude(codename=SUPPORT_ACCESS.partition(".")[2]))
    instance.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def site_wide(model: type[models.Model]) -> bool:
    return tenancy.scope_of(model) == tenancy.SITE_WIDE


def leaks(response: Any) -> bool:
    """Whether a response shows anything of instance B."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return MARK in content.decode(errors="replace").lower()


def test_every_admin_declares_its_instance_scope() -> None:
    undeclared = [
        label(model)
        for model, model_admin in registry().items()
        if not isinstance(model_admin, InstanceScopedAdmin) or model_admin.declared_scope() is None
    ]
    assert not undeclared, (
        f"these admins do not say how their rows reach their instance: {undeclared}. Make each an "
        "InstanceScopedAdmin (jemh/admin_tenancy.py) with instance_path ('instance', 'profile__instance', a function, "
        "or SITE_WIDE for rows of no instance)"
    )


def test_the_other_world_is_there_for_a_superuser(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The walk below proves something: a superuser sees B's rows (and their marked texts) on their pages."""
    _, theirs = worlds
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    unmarked = []
    for model in registry():
        if site_wide(model):
            continue
        response = root.get(page_url(model, "change", theirs[label(model)]))
        assert response.status_code == 200, f"{label(model)}: {response.status_code}"
        if not leaks(response):
            unmarked.append(label(model))
    assert not unmarked, f"B's change pages show no marked text (the walk cannot see a leak there): {unmarked}"


def test_nothing_of_another_instance_is_on_any_admin_page(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "alpha-admin")
    wrong = []
    assert not leaks(client.get(reverse("admin:index")))
    for model in registry():
        for page in STANDARD_PAGES:
            own = client.get(page_url(model, page, ours[label(model)]))
            if own.status_code != expected_status("superuser", model, page):  # all A's pages a superuser has
                wrong.append(f"{label(model)} {page} of A: {own.status_code}")
            if leaks(own):
                wrong.append(f"{label(model)} {page} of A shows B's texts")
            if page in ("changelist", "add") or site_wide(model):
                continue
            other = client.get(page_url(model, page, theirs[label(model)]))
            refused = {302, 404} | ({403} if expected_status("superuser", model, page) == 403 else set())
            if other.status_code not in refused:
                wrong.append(f"{label(model)} {page} of B's object: {other.status_code}, expected 302 or 404")
            if leaks(other):
                wrong.append(f"{label(model)} {page} of B's object shows B's texts")
    assert not wrong, "\n".join(wrong)


def test_no_admin_action_reaches_another_instances_rows(
    worlds: tuple[dict[str, Any], dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "alpha-admin")
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="alpha-admin")
    before = snapshot()
    wrong, tried = [], 0
    for model, model_admin in registry().items():
        if site_wide(model):
            continue
        objects = [theirs[label(model)].pk]
        for name in model_admin.get_actions(request):  # every action: A's staff hold every permission
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    page_url(model, "changelist", model()),
                    {
                        "action": name,
                        "_selected_action": objects,
                        "index": 0,
                        "apply": "1",
                        "reason": "because",
                        "post": "yes",
                        "address": "x@example.org",
                    },
                )
            tried += 1
            if leaks(response):
                wrong.append(f"{label(model)}.{name}: the response shows B's texts")
    assert tried > 20
    after = snapshot()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"actions on B's rows changed: {changed}"
    assert not wrong, "\n".join(wrong)


def test_no_custom_admin_url_reaches_another_instance(
    worlds: tuple[dict[str, Any], dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "alpha-admin")
    wrong = []
    for name, extra in EXTRA_URLS.items():
        args = extra.args(theirs)
        before = snapshot()
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, extra.method)(reverse(f"admin:{name}", args=args))
        if args and response.status_code not in (302, 404):
            wrong.append(f"{name} with B's objects: {response.status_code}, expected 302 or 404")
        if leaks(response):
            wrong.append(f"{name}: the response shows B's texts")
        if snapshot() != before:
            wrong.append(f"{name} with B's objects changed something")
        if args:  # the same URL with A's objects works: the 404 above is the instance's, not a broken URL
            own = getattr(client, extra.method)(reverse(f"admin:{name}", args=extra.args(ours)))
            if own.status_code not in (200, 302):
                wrong.append(f"{name} with A's objects: {own.status_code}")
    assert not wrong, "\n".join(wrong)


def admin_pages_outside_the_admin_site() -> list[tuple[str, URLPattern]]:
    """The project's URLs under /admin/ that are not the admin site's own (pages like the feedback form)."""

    def walk(patterns: list[Any], prefix: str) -> list[tuple[str, URLPattern]]:
        found = []
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if getattr(p, "app_name", None) != "admin":
                    found += walk(p.url_patterns, route)
            elif route.startswith("admin/"):
                found.append((route, p))
        return found

    return walk(get_resolver().url_patterns, "")


def test_no_other_admin_page_shows_another_instance(
    worlds: tuple[dict[str, Any], dict[str, Any]], settings: Any
) -> None:
    settings.JEMH_CHAT_WEBHOOK_URL = "http://chat.invalid/hook"  # the feedback page shows its form (instances)
    ours, _ = worlds
    client = member_of(ours["jemh.Instance"], "alpha-admin")
    pages = admin_pages_outside_the_admin_site()
    assert pages, "the feedback page is one"
    for route, pattern in pages:
        assert not pattern.pattern.converters, f"/{route} takes arguments: give the tenant walk a line for it"
        response = client.get(f"/{route}")
        assert response.status_code == 200 and not leaks(response), route


def test_support_staff_see_only_their_instances_flags(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "alpha-support", support=True)
    listed = client.get(reverse("support:flags"))
    assert listed.status_code == 200 and not leaks(listed)
    assert reverse("support:item", args=[ours["auditing.SupportFlag"].pk]) in listed.content.decode()
    for name in set(SUPPORT_URLS) - {"support:flags", "support:login", "support:logout"}:
        assert client.get(reverse(name, args=SUPPORT_URLS[name].args(ours))).status_code == 200, name
        response = client.get(reverse(name, args=SUPPORT_URLS[name].args(theirs)))
        assert response.status_code == 404 and not leaks(response), name


def test_a_user_of_no_instance_sees_no_instances_rows(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, _ = worlds
    nobody = get_user_model().objects.create_user("nobody", is_staff=True)
    nobody.user_permissions.set(Permission.objects.exclude(codename=SUPPORT_ACCESS.partition(".")[2]))
    client = Client()
    client.force_login(nobody)
    assert not tenancy.instances_of(nobody).exists()
    for model in (Instance, Source, Profile, InboundMessage):
        response = client.get(page_url(model, "change", ours[label(model)]))
        assert response.status_code == 302, label(model)


def test_a_source_cannot_use_another_instances_profile(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Model validation: whatever the form offered, a source's profile is of the source's instance."""
    ours, theirs = worlds
    source = ours["inbound.Source"]
    source.profile = theirs["profiles.Profile"]
    with pytest.raises(ValidationError) as refused:
        source.full_clean()
    assert "profile" in refused.value.message_dict
    profile = ours["profiles.Profile"]
    profile.instance = theirs["jemh.Instance"]  # moving a profile away from the sources that use it
    with pytest.raises(ValidationError) as refused:
        profile.full_clean()
    assert "instance" in refused.value.message_dict


def test_a_member_of_both_instances_cannot_cross_them_in_a_form(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Both instances' profiles are offered to a member of both; the form still refuses the other instance's."""
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "both-admin")
    theirs["jemh.Instance"].members.add(get_user_model().objects.get(username="both-admin"))
    source = ours["inbound.Source"]
    page = client.get(page_url(Source, "change", source))
    form = page.context["adminform"].form
    data: dict[str, Any] = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update({"instance": source.instance_id, "profile": theirs["profiles.Profile"].pk, "password_0": ""})
    response = client.post(page_url(Source, "change", source), data)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert "profile" in errors, errors
    source.refresh_from_db()
    assert source.profile_id == ours["profiles.Profile"].pk


def test_foreign_key_choices_are_the_users_instances(worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, theirs = worlds
    client = member_of(ours["jemh.Instance"], "alpha-admin")
    form = client.get(page_url(Source, "add", ours["inbound.Source"])).context["adminform"].form
    assert set(form.fields["instance"].queryset) == {ours["jemh.Instance"]}
    assert theirs["profiles.Profile"] not in set(form.fields["profile"].queryset)
    assert ours["profiles.Profile"] in set(form.fields["profile"].queryset)
    imported = client.get(reverse("admin:profiles_profile_import")).context["form"]
    assert set(imported.fields["instance"].queryset) == {ours["jemh.Instance"]}
