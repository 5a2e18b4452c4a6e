"""Who may see and do what (issue 12): every admin page of every registered model, every admin action and every
other admin or support URL, walked as a superuser, a user with only view permissions, a support user (also one who
is staff), a staff user of no group, and anonymous. Each gets exactly what it should, and a refused action changes
nothing.

Every role but the superuser is a member of the world's instance (issue 14: a user sees only the instances they
belong to; tests/auditing/test_tenants.py proves the separation).

The pages come from ``admin.site._registry``, so a new model is covered without a word here (its one object is made
by ``make_world``: a new model fails ``test_the_world_has_an_object_of_every_registered_model`` until it gets a line
there). A new action or URL fails its completeness test until it gets one line in ``ACTIONS`` or ``EXTRA_URLS``.
"""

from __future__ import annotations

import fnmatch
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from auditing.flags import flag_message, unflag
from auditing.models import ErasureRecord, InboundDeletion, PurgeRun, RawMailAccess, RawRead, SupportAccess, SupportSaw
from inbound.models import InboundMessage, InboundStatus, Outcome, Source
from jemh.admin_secrets import SecretsAdminMixin, secret_field_names
from jemh.models import Instance, OAuthApp, OAuthProvider
from notifications.choices import EventStatus, OutboundStatus
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage, WebhookDelivery
from profiles.models import Profile, ProjectMapping, TestCase
from tests.pipeline.conftest import mail
from trackers.interface import AttachmentUpload
from trackers.local import attachments as attachment_services
from trackers.models import Comment, Issue, Project

pytestmark = pytest.mark.django_db

ROLES = ("superuser", "viewer", "support", "support_staff", "staff", "anonymous")
SUPPORT_GROUP = "Support staff"
STANDARD_PAGES = ("changelist", "add", "change", "delete", "history")

# What even a superuser cannot do from the admin (audit records are written by the apps, never by hand).
NOT_ADDABLE = {"notifications.IssueEvent", "notifications.OutboundMessage", "inbound.InboundMessage"}
NOT_ADDABLE |= {"auditing.InboundDeletion", "auditing.PurgeRun", "axes.AccessAttempt", "axes.AccessLog"}
NOT_ADDABLE |= {"axes.AccessFailureLog", "notifications.WebhookDelivery", "auditing.ErasureRecord"}
# The support flags and the logs of who read what: records nobody edits or deletes.
READ_ONLY = {"auditing.SupportFlag", "auditing.SupportAccess", "auditing.RawMailAccess", "auditing.ErasureRecord"}
NOT_ADDABLE |= READ_ONLY
NOT_DELETABLE = {"inbound.InboundMessage", "auditing.InboundDeletion", "auditing.PurgeRun"} | READ_ONLY

# Every admin action, by model and name (a glob), and the one permission that lets a user run it.
ACTIONS: dict[tuple[str, str], str] = {
    ("*", "delete_selected"): "{app}.delete_{model}",
    ("inbound.InboundMessage", "process_again"): "inbound.reprocess_inboundmessage",
    ("inbound.InboundMessage", "make_test_case"): "inbound.make_testcase_inboundmessage",
    ("inbound.InboundMessage", "delete_with_reason"): "inbound.erase_inboundmessage",
    ("inbound.InboundMessage", "flag_for_support"): "auditing.flag_for_support",
    ("auditing.SupportFlag", "withdraw"): "auditing.flag_for_support",
    ("axes.AccessAttempt", "cleanup_expired_attempts"): "axes.delete_accessattempt",
    ("inbound.Source", "test_connection"): "inbound.change_source",
    ("inbound.Source", "poll_now"): "inbound.change_source",
    ("inbound.Source", "enable_and_reset"): "inbound.change_source",
    ("profiles.TestCase", "dry_run"): "profiles.change_testcase",
    ("profiles.TestCase", "real_run"): "profiles.run_testcase",
    ("profiles.Profile", "export_json"): "profiles.view_profile",
    ("profiles.Profile", "export_json_with_test_cases"): "profiles.export_profile_with_mail",
    ("trackers.Issue", "transition_*"): "trackers.change_issue",
    ("notifications.IssueEvent", "run_again"): "notifications.run_issueevent_again",
    ("notifications.IssueEvent", "resend_their_failed_mail"): "notifications.resend_notification",
    ("notifications.OutboundMessage", "resend_selected"): "notifications.resend_notification",
    ("jemh.Instance", "send_test_mail"): "notifications.send_test_mail",
    ("jemh.Instance", "test_tracker_connection"): "jemh.check_tracker",
    ("jemh.Instance", "check_custom_fields"): "jemh.check_tracker",
    ("jemh.Instance", "resume"): "jemh.resume_processing",
    ("jemh.Instance", "new_webhook_tokens"): "jemh.change_instance",
    ("django_celery_beat.PeriodicTask", "*_tasks"): "django_celery_beat.change_periodictask",
}


@dataclass(frozen=True)
class ExtraUrl:
    """An admin URL beyond the standard five of a model: how to reach it, and the status each role gets."""

    method: str
    args: Callable[[dict[str, models.Model]], list[Any]]
    expected: dict[str, int]


def _expect(superuser: int, viewer: int, staff: int = 403) -> dict[str, int]:
    """An admin URL: support users get 403 whatever else they are (auditing.support.guard), anonymous the login."""
    return {
        "superuser": superuser,
        "viewer": viewer,
        "support": 403,
        "support_staff": 403,
        "staff": staff,
        "anonymous": 302,
    }


def _support(superuser: int = 200, support: int = 200, others: int = 403, anonymous: int = 302) -> dict[str, int]:
    """A support URL: for holders of auditing.view_flagged_mail (a superuser holds every permission); others 403;
    anonymous to the support login."""
    return {
        "superuser": superuser,
        "viewer": others,
        "support": support,
        "support_staff": support,
        "staff": others,
        "anonymous": anonymous,
    }


def _message(w: dict[str, Any]) -> list[Any]:
    return [w["inbound.InboundMessage"].pk]


def _flag(w: dict[str, Any]) -> list[Any]:
    return [w["auditing.SupportFlag"].pk]


EXTRA_URLS: dict[str, ExtraUrl] = {
    "auth_user_password_change": ExtraUrl("get", lambda w: [w["auth.User"].pk], _expect(200, 403)),
    "profiles_profile_import": ExtraUrl("get", lambda w: [], _expect(200, 403)),
    # A dry run from the test case's page: changing the test case is enough; a viewer may not.
    "profiles_testcase_run": ExtraUrl("post", lambda w: [w["profiles.TestCase"].pk], _expect(302, 403)),
    "trackers_issue_attachment": ExtraUrl(
        "get", lambda w: [w["trackers.Issue"].pk, w["attachment"].pk], _expect(200, 200)
    ),
    "notifications_mapping_preview": ExtraUrl(
        "get", lambda w: [w["notifications.NotificationMapping"].pk], _expect(200, 200)
    ),
    "notifications_outboundmessage_resend": ExtraUrl(
        "post", lambda w: [w["notifications.OutboundMessage"].pk], _expect(302, 403)
    ),
    # The stored mail: auditing.view_raw_mail, which a viewer (view_* of every model) does not hold.
    "inbound_inboundmessage_mail": ExtraUrl("get", _message, _expect(200, 403)),
    "inbound_inboundmessage_mail_html": ExtraUrl("get", _message, _expect(200, 403)),
    "inbound_inboundmessage_mail_source": ExtraUrl("get", _message, _expect(200, 403)),
    "inbound_inboundmessage_mail_eml": ExtraUrl("get", _message, _expect(200, 403)),
    "inbound_inboundmessage_mail_attachment": ExtraUrl("get", lambda w: [*_message(w), 0], _expect(200, 403)),
    # Flagging: auditing.flag_for_support; unflagging is POST only (a GET answers 405 before any check).
    "inbound_inboundmessage_flag": ExtraUrl("get", _message, _expect(200, 403)),
    "inbound_inboundmessage_unflag": ExtraUrl(
        "post", lambda w: [*_message(w), w["flag to withdraw"].pk], _expect(302, 403)
    ),
    # The OAuth sign-in: starting it needs inbound.change_source (the pipe source signs in with no OAuth: back to
    # its page); the callback without a sign-in this session started is refused before anything is looked up.
    "inbound_source_oauth_connect": ExtraUrl("get", lambda w: [w["inbound.Source"].pk], _expect(302, 403)),
    "inbound_source_oauth_callback": ExtraUrl("get", lambda w: [], _expect(400, 400, 400)),
    # One address's export and erasure, per instance: auditing.export_subject / auditing.erase_subject.
    "auditing_erasurerecord_export": ExtraUrl("get", lambda w: [w["jemh.Instance"].pk], _expect(200, 403)),
    "auditing_erasurerecord_erase": ExtraUrl("get", lambda w: [w["jemh.Instance"].pk], _expect(200, 403)),
}
# The support views (``/support/``): one line each, as (URL name, args from the world, expected status by role).
SUPPORT_URLS: dict[str, ExtraUrl] = {
    "support:flags": ExtraUrl("get", lambda w: [], _support()),
    # Signed in already: on to the list (which then says 403 to those who are not support staff).
    "support:login": ExtraUrl("get", lambda w: [], _support(302, 302, 302, anonymous=200)),
    "support:item": ExtraUrl("get", _flag, _support()),
    "support:html": ExtraUrl("get", _flag, _support()),
    "support:eml": ExtraUrl("get", _flag, _support()),
    "support:profile": ExtraUrl("get", _flag, _support()),
    "support:logout": ExtraUrl("post", lambda w: [], _support(302, 302, 302)),  # last: it signs the client out
}


# The project's other URLs outside the admin and the support views (``/hooks/`` has its own tests: a token in the
# URL), with the status every role gets on the test settings: the health checks answer everyone (they say nothing
# private); /metrics and /status.json are off until configured (tests/auditing/test_status.py: their tokens).
def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


OPERATIONS_URLS: dict[str, ExtraUrl] = {
    "health-live": ExtraUrl("get", lambda w: [], _everyone(200)),
    "health-ready": ExtraUrl("get", lambda w: [], _everyone(200)),
    "health": ExtraUrl("get", lambda w: [], _everyone(200)),
    "metrics": ExtraUrl("get", lambda w: [], _everyone(404)),
    "status-json": ExtraUrl("get", lambda w: [], _everyone(404)),
    "home": ExtraUrl("get", lambda w: [], _everyone(302)),  # to the admin
}
# What a flag that has ended shares with support: nothing (404), by any URL.
FLAG_URLS = ("support:item", "support:html", "support:eml", "support:profile")
# Admin-site URLs that belong to no model (the index, login, ...): not part of the matrix.
SITE_URLS: set[str | None] = {"index", "login", "logout", "password_change", "password_change_done", "autocomplete"}
SITE_URLS |= {"jsi18n", "view_on_site", "app_list", None}


def label(model: type[models.Model]) -> str:
    return model._meta.label


def registry() -> dict[type[models.Model], admin.ModelAdmin]:
    return dict(admin.site._registry)


def required_permission(model: type[models.Model], action: str) -> str | None:
    for (model_label, pattern), permission in ACTIONS.items():
        if fnmatch.fnmatch(label(model), model_label) and fnmatch.fnmatch(action, pattern):
            return permission.format(app=model._meta.app_label, model=model._meta.model_name)
    return None


def make_world(
    instance: Instance, pipe: Source, deliver: Callable[..., InboundMessage], tag: str = ""
) -> dict[str, Any]:
    """One object of every registered model (and an issue attachment), made through the apps' own paths.

    ``tag`` is put into every text of the instance's own rows (a second world, of another instance, is told apart by
    it); the site-wide rows of a second world get a plain suffix instead (they are nobody's)."""

    def t(text: str) -> str:
        return f"{text} {tag}" if tag else text

    suffix = "-2" if tag else ""
    message = deliver(mail(subject=t("Printer on fire"), attachments=[(t("note.txt"), "text/plain", b"hello")]))
    issue = Issue.objects.get(instance=instance, key=message.issue_key)
    profile = pipe.profile
    assert profile is not None
    user_model = get_user_model()
    somebody = user_model.objects.create_user(f"somebody{tag}", f"somebody{tag}@example.org")
    instance.members.add(somebody)
    world: dict[str, Any] = {
        "jemh.Instance": instance,
        "inbound.Source": pipe,
        "inbound.InboundMessage": message,
        "trackers.Issue": issue,
        "trackers.Project": Project.objects.filter(instance=instance).first(),
        "trackers.Comment": Comment.objects.create(instance=instance, issue=issue, body=t("a comment")),
        "profiles.Profile": pipe.profile,
        "profiles.ProjectMapping": ProjectMapping.objects.filter(profile=pipe.profile).first(),
        "profiles.TestCase": TestCase.objects.create(profile=profile, name=t("case"), raw_message=mail().decode()),
        "notifications.NotificationMapping": NotificationMapping.objects.create(instance=instance, name=t("watchers")),
        "notifications.IssueEvent": IssueEvent.objects.create(
            instance=instance,
            kind="created",
            issue_key=issue.key,
            project_key=issue.project.key,
            payload={"issue": issue.key},
            status=EventStatus.FAILED,
            reason=t("test"),
            expires_at=timezone.now() + timedelta(days=7),
        ),
        "notifications.OutboundMessage": OutboundMessage.objects.create(
            instance=instance,
            recipients=[f"carol{tag}@customer.example"],
            recipient_hash="x",
            subject=t("Re: Printer on fire"),
            message_id=f"<matrix{tag}@support.example.com>",
            status=OutboundStatus.FAILED,
            blob_name="outbound/none.eml",
            expires_at=timezone.now() + timedelta(days=30),
        ),
        "auditing.InboundDeletion": InboundDeletion.objects.create(
            inbound_id=999999, instance=instance, reason=t("a test"), deleted_by_name="someone"
        ),
        "auditing.ErasureRecord": ErasureRecord.objects.create(
            instance=instance, erased_by_name="someone", counts={"inbound_messages": 1}
        ),
        "auditing.PurgeRun": PurgeRun.objects.create(
            instance=instance, started_at=timezone.now(), finished_at=timezone.now(), counts={"raw_mail": 1}
        ),
        "notifications.WebhookDelivery": WebhookDelivery.objects.create(
            instance=instance,
            identifier=f"matrix-1{tag}",
            body_hash="0" * 64,
            webhook_event="comment_created",
            expires_at=timezone.now() + timedelta(days=7),
        ),
        "jemh.OAuthApp": OAuthApp.objects.create(
            instance=instance,
            provider=OAuthProvider.GOOGLE,
            client_id=f"matrix-client{suffix}",
            client_secret="oauth-client-secret-ghi",
            issuer_url="http://127.0.0.1:9/",
        ),
        "auth.Group": Group.objects.get_or_create(name=f"matrix group{suffix}")[0],
        "auth.User": somebody,
        "django_celery_beat.IntervalSchedule": IntervalSchedule.objects.create(every=10, period="seconds"),
        "django_celery_beat.CrontabSchedule": CrontabSchedule.objects.create(minute="5"),
        "django_celery_beat.SolarSchedule": SolarSchedule.objects.create(
            event="sunrise", latitude=2 if tag else 1, longitude=1
        ),
        "django_celery_beat.ClockedSchedule": ClockedSchedule.objects.create(clocked_time=timezone.now()),
    }
    world["django_celery_beat.PeriodicTask"] = PeriodicTask.objects.create(
        name=f"matrix task{suffix}", task="jemh.tasks.nothing", interval=world["django_celery_beat.IntervalSchedule"]
    )
    world["auditing.SupportFlag"] = flag_message(message, t("please look"), None)
    world["flag to withdraw"] = flag_message(message, t("look at this too"), None)
    world["withdrawn flag"] = flag_message(message, t("no longer"), None)
    unflag(world["withdrawn flag"], None)
    world["auditing.SupportAccess"] = SupportAccess.objects.create(
        flag=world["auditing.SupportFlag"], username=t("supporter"), what=SupportSaw.ITEM, client_address="192.0.2.1"
    )
    world["auditing.RawMailAccess"] = RawMailAccess.objects.create(
        message=message, username=t("root"), what=RawRead.EML
    )
    # A failed sign-in of the instance's user (axes' records are scoped by the usernames of the instance's users).
    access = {
        "user_agent": "a browser",
        "ip_address": "192.0.2.7",
        "username": somebody.username,
        "path_info": "/admin/",
    }
    world["axes.AccessAttempt"] = AccessAttempt.objects.create(
        **access, http_accept="*/*", get_data="", post_data="username=someone", failures_since_start=5
    )
    # Registered only when logging is switched on in settings (axes.AccessLog, axes.AccessFailureLog).
    world["axes.AccessLog"] = AccessLog.objects.create(**access, http_accept="*/*")
    world["axes.AccessFailureLog"] = AccessFailureLog.objects.create(**access, http_accept="*/*", locked_out=True)
    world["attachment"] = attachment_services.add_attachments(
        issue, [AttachmentUpload(filename=t("a.txt"), content_type="text/plain", file=io.BytesIO(b"hello"))]
    )[0]
    # A failed message, so "process again" would have something to do.
    InboundMessage.objects.create(
        instance=instance, source=pipe, received_at=timezone.now(), status=InboundStatus.ERROR, outcome=Outcome.ERROR
    )
    return world


def make_clients(instance: Instance) -> dict[str, Client]:
    """A signed-in client per role (anonymous: not signed in); every role but the superuser a member of
    ``instance``."""
    user_model = get_user_model()
    views = Permission.objects.filter(
        codename__in=[f"view_{model._meta.model_name}" for model in registry()],
        content_type__app_label__in={model._meta.app_label for model in registry()},
    )
    users = {
        "superuser": user_model.objects.create_superuser("root", "root@example.org", "x"),
        "viewer": user_model.objects.create_user("viewer", "viewer@example.org", is_staff=True),
        "support": user_model.objects.create_user("supporter", "supporter@example.org"),
        "support_staff": user_model.objects.create_user("supporter2", "supporter2@example.org", is_staff=True),
        "staff": user_model.objects.create_user("staff", "staff@example.org", is_staff=True),
    }
    users["viewer"].user_permissions.set(views)
    instance.members.add(*(user for role, user in users.items() if role != "superuser"))
    group = Group.objects.filter(name=SUPPORT_GROUP).first()
    if group is not None:  # the support views' group; else a support user is one with no admin permission
        users["support"].groups.add(group)
        users["support_staff"].groups.add(group)
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


@pytest.fixture()
def world(instance: Instance, pipe: Source, deliver: Callable[..., InboundMessage]) -> dict[str, Any]:
    return make_world(instance, pipe, deliver)


@pytest.fixture()
def clients(world: dict[str, Any]) -> dict[str, Client]:
    return make_clients(world["jemh.Instance"])


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every registered model (and the admin's history): equal snapshots mean nothing changed."""
    rows: dict[str, list[dict[str, Any]]] = {
        label(model): list(model._default_manager.order_by("pk").values()) for model in registry()
    }
    rows["admin.LogEntry"] = [dict(row) for row in LogEntry.objects.order_by("pk").values()]
    return rows


def page_url(model: type[models.Model], page: str, obj: models.Model) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
    return reverse(name, args=[] if page in ("changelist", "add") else [obj.pk])


def expected_status(role: str, model: type[models.Model], page: str) -> int:
    if role == "anonymous":
        return 302  # to the admin's login page
    if role in ("staff", "support", "support_staff"):
        return 403  # support users: auditing.support.guard, whatever else they are
    if page == "add" and (role == "viewer" or label(model) in NOT_ADDABLE):
        return 403
    if page == "delete" and (role == "viewer" or label(model) in NOT_DELETABLE):
        return 403
    return 200


def test_the_world_has_an_object_of_every_registered_model(world: dict[str, Any]) -> None:
    missing = [label(model) for model in registry() if label(model) not in world]
    assert not missing, f"add a line to make_world for: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page(role: str, world: dict[str, Any], clients: dict[str, Client]) -> None:
    client = clients[role]
    wrong = []
    for model in registry():
        for page in STANDARD_PAGES:
            url = page_url(model, page, world[label(model)])
            response = client.get(url)
            want = expected_status(role, model, page)
            if response.status_code != want:
                wrong.append(f"{url}: {response.status_code}, expected {want}")
            elif want == 302 and "/admin/login/" not in response["Location"]:
                wrong.append(f"{url}: redirected to {response['Location']}, expected the login page")
            elif role == "viewer" and page == "change" and 'name="_save"' in response.content.decode():
                wrong.append(f"{url}: a viewer is offered Save")
    assert not wrong, "\n".join(wrong)


def test_every_action_declares_its_permission_and_is_in_the_table(clients: dict[str, Client]) -> None:
    undeclared, unlisted = [], []
    for model, model_admin in registry().items():
        request = RequestFactory().get("/")
        request.user = get_user_model().objects.get(username="root")
        for name, entry in model_admin.get_actions(request).items():
            if not getattr(entry[0] if entry else None, "allowed_permissions", ()):
                undeclared.append(f"{label(model)}.{name}")
            if required_permission(model, name) is None:
                unlisted.append(f"{label(model)}.{name}")
    assert not undeclared, f"actions without allowed_permissions: {undeclared}"
    assert not unlisted, f"add these actions to ACTIONS: {unlisted}"


def offered_actions(client: Client, model: type[models.Model]) -> set[str]:
    response = client.get(page_url(model, "changelist", model()))
    form = response.context.get("action_form") if response.status_code == 200 and response.context else None
    if form is None:
        return set()
    return {str(value) for value, _ in form.fields["action"].choices if value}


def all_actions(model_admin: admin.ModelAdmin) -> list[str]:
    """Every action of ``model_admin``: those a superuser is offered."""
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.filter(is_superuser=True).get()
    return list(model_admin.get_actions(request))


def test_each_action_is_offered_to_the_holders_of_its_permission_only(clients: dict[str, Client]) -> None:
    wrong = []
    viewer_user = get_user_model().objects.get(username="viewer")
    for model, model_admin in registry().items():
        offered = {role: offered_actions(clients[role], model) for role in ("superuser", "viewer")}
        for name in all_actions(model_admin):
            permission = required_permission(model, name)
            assert permission is not None, f"add {label(model)}.{name} to ACTIONS"
            holder = get_user_model().objects.create_user(
                f"holder-{model._meta.model_name}-{name}"[:150], is_staff=True
            )
            app_label, codename = permission.split(".")
            view = f"view_{model._meta.model_name}"
            holder.user_permissions.set(
                Permission.objects.filter(content_type__app_label__in={app_label, model._meta.app_label}).filter(
                    codename__in={codename, view}
                )
            )
            client = Client()
            client.force_login(holder)
            as_holder = offered_actions(client, model)
            if name not in as_holder:
                wrong.append(f"{label(model)}.{name}: not offered to a holder of {permission}")
            if name not in offered["superuser"]:
                wrong.append(f"{label(model)}.{name}: not on a superuser's changelist")
            viewer_may = viewer_user.has_perm(permission)
            if (name in offered["viewer"]) != viewer_may:
                wrong.append(f"{label(model)}.{name}: offered to a viewer: {name in offered['viewer']}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["viewer", "support", "support_staff", "staff", "anonymous"])
def test_a_refused_action_changes_nothing(
    role: str, world: dict[str, Any], clients: dict[str, Client], django_capture_on_commit_callbacks: Any
) -> None:
    viewer_user = get_user_model().objects.get(username="viewer")
    before = snapshot()
    tried = 0
    for model, model_admin in registry().items():
        objects = list(model._default_manager.values_list("pk", flat=True)[:5])
        for name in all_actions(model_admin):
            permission = required_permission(model, name)
            if role == "viewer" and permission is not None and viewer_user.has_perm(permission):
                continue  # a viewer may (exporting a profile's configuration)
            with django_capture_on_commit_callbacks(execute=True):
                response = clients[role].post(
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
            # Refused: a redirect ("no action selected"), a 403, or the plain list (no action is offered at all).
            plain_list = response.status_code == 200 and response.templates[0].name.endswith("change_list.html")
            assert response.status_code in (302, 403) or plain_list, f"{label(model)}.{name}: {response.status_code}"
            if role == "anonymous":
                assert "/admin/login/" in response["Location"]
            if role in ("support", "support_staff"):
                assert response.status_code == 403, f"{label(model)}.{name}: {response.status_code}"
    assert tried > 20
    after = snapshot()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused action changed: {changed}"


def test_every_extra_admin_url_is_in_the_table() -> None:
    standard = {
        f"{model._meta.app_label}_{model._meta.model_name}_{page}" for model in registry() for page in STANDARD_PAGES
    }
    names = set()
    for model_admin in registry().values():
        names |= {p.name for p in model_admin.get_urls() if isinstance(p, URLPattern)}
    names |= {p.name for p in admin.site.get_urls() if isinstance(p, URLPattern)}
    unlisted = names - standard - SITE_URLS - set(EXTRA_URLS)
    assert not unlisted, f"add these admin URLs to EXTRA_URLS: {unlisted}"


def support_url_names() -> set[str]:
    """The names of the project's URLs under /support/."""

    def walk(patterns: list[Any], prefix: str) -> set[str]:
        found = set()
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                found |= walk(p.url_patterns, route)
            elif route.startswith("support/") and p.name:
                found.add(p.name)
        return found

    return walk(get_resolver().url_patterns, "")


def test_every_support_url_is_in_the_table() -> None:
    unlisted = support_url_names() - {name.rpartition(":")[2] for name in SUPPORT_URLS}
    assert not unlisted, f"add these support URLs to SUPPORT_URLS: {unlisted}"


@pytest.mark.parametrize("role", ROLES)
def test_every_extra_url(
    role: str, world: dict[str, Any], clients: dict[str, Client], django_capture_on_commit_callbacks: Any
) -> None:
    wrong = []
    for name, extra in {**{f"admin:{k}": v for k, v in EXTRA_URLS.items()}, **SUPPORT_URLS}.items():
        url = reverse(name, args=extra.args(world))
        before = snapshot()
        with django_capture_on_commit_callbacks(execute=False):
            response = getattr(clients[role], extra.method)(url)
        if response.status_code != extra.expected[role]:
            wrong.append(f"{url}: {response.status_code}, expected {extra.expected[role]}")
        if extra.method == "post" and response.status_code != 302 and snapshot() != before:
            wrong.append(f"{url}: refused, yet something changed")
    assert not wrong, "\n".join(wrong)


def test_every_operations_url_is_in_the_table() -> None:
    """Every named URL outside /admin/, /support/ and /hooks/ has its line in OPERATIONS_URLS."""
    names = {
        p.name
        for p in get_resolver().url_patterns
        if isinstance(p, URLPattern) and p.name and not str(p.pattern).startswith(("admin/", "support/", "hooks/"))
    }
    names |= {
        p.name
        for r in get_resolver().url_patterns
        if isinstance(r, URLResolver) and not str(r.pattern).startswith(("admin/", "support/", "hooks/"))
        for p in r.url_patterns
        if isinstance(p, URLPattern) and p.name
    }
    assert names - set(OPERATIONS_URLS) == set(), "add these URLs to OPERATIONS_URLS"
    assert set(OPERATIONS_URLS) <= names


@pytest.mark.django_db(transaction=True)  # the readiness checks use connections of their own
@pytest.mark.parametrize("role", ROLES)
def test_every_operations_url(role: str, world: dict[str, Any], clients: dict[str, Client]) -> None:
    wrong = []
    for name, extra in OPERATIONS_URLS.items():
        response = getattr(clients[role], extra.method)(reverse(name))
        if response.status_code != extra.expected[role]:
            wrong.append(f"{reverse(name)}: {response.status_code}, expected {extra.expected[role]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_the_status_dashboard_shows_only_to_staff_who_may_view_its_models(
    role: str, world: dict[str, Any], clients: dict[str, Client]
) -> None:
    response = clients[role].get(reverse("admin:index"))
    shown = response.status_code == 200 and 'id="jemh-status"' in response.content.decode()
    assert shown == (role in ("superuser", "viewer")), (role, response.status_code)
    if shown:  # a viewer holds view permissions of every registered model: every part
        page = response.content.decode()
        for part in ('data-part="queues"', 'data-part="outcomes"', 'data-part="sources"', 'data-part="processes"'):
            assert part in page


@pytest.mark.parametrize("role", ["superuser", "support", "support_staff"])
def test_an_ended_or_unknown_flag_answers_404_to_everyone_who_may_see_flags(
    role: str, world: dict[str, Any], clients: dict[str, Client]
) -> None:
    wrong = []
    for name in FLAG_URLS:
        for flag_id in (world["withdrawn flag"].pk, 999999):
            url = reverse(name, args=[flag_id])
            response = clients[role].get(url)
            if response.status_code != 404:
                wrong.append(f"{url}: {response.status_code}, expected 404")
    assert not wrong, "\n".join(wrong)


def test_anonymous_is_sent_to_the_support_login_from_the_support_views(
    world: dict[str, Any], clients: dict[str, Client]
) -> None:
    for name in set(SUPPORT_URLS) - {"support:login", "support:logout"}:
        response = clients["anonymous"].get(reverse(name, args=SUPPORT_URLS[name].args(world)))
        assert response.status_code == 302 and response["Location"].startswith(reverse("support:login")), name


def test_no_secret_is_displayed_to_anyone(world: dict[str, Any], clients: dict[str, Client]) -> None:
    """Issue 12: a user with only view_source read the mailbox password in clear text on the source's page."""
    secrets = {"mailbox-pw-123", "jira-token-456", "jira-pat-789", "oauth-refresh-abc", "oauth-access-def"}
    secrets |= {"oauth-client-secret-ghi"}
    source = world["inbound.Source"]
    source.password = "mailbox-pw-123"
    source.oauth_refresh_token = "oauth-refresh-abc"
    source.oauth_access_token = "oauth-access-def"
    source.save(update_fields=["password", "oauth_refresh_token", "oauth_access_token"])
    instance = world["jemh.Instance"]
    instance.jira_api_token, instance.jira_pat = "jira-token-456", "jira-pat-789"
    instance.save()
    for role in ("superuser", "viewer"):
        for model in registry():
            for page in ("changelist", "change", "history"):
                content = clients[role].get(page_url(model, page, world[label(model)])).content.decode()
                shown = [secret for secret in secrets if secret in content]
                assert not shown, f"{role} sees {shown} on the {page} page of {label(model)}"
        page = clients[role].get(page_url(Source, "change", source)).content.decode()
        assert '<span class="jemh-secret-state">set</span>' in page  # it says a password is stored
        page = clients[role].get(page_url(Instance, "change", instance)).content.decode()
        assert page.count('<span class="jemh-secret-state">set</span>') == 2  # the API token and the PAT
        assert '<span class="jemh-secret-state">not set</span>' in page  # the account e-mail


def test_every_model_with_secrets_has_a_secrets_admin() -> None:
    for model, model_admin in registry().items():
        if secret_field_names(model):
            assert isinstance(model_admin, SecretsAdminMixin), f"{label(model)} has secrets: use SecretsAdminMixin"


def test_the_secret_checks_know_the_models_secrets() -> None:
    assert secret_field_names(Source) == ("password", "oauth_access_token", "oauth_refresh_token")
    assert set(secret_field_names(Instance)) == {
        "jira_api_token",
        "jira_pat",
        "jira_webhook_token",
        "jira_webhook_secret",
    }
    assert secret_field_names(OAuthApp) == ("client_secret",)
    assert not secret_field_names(InboundMessage) and not secret_field_names(Profile)


def test_the_start_pages_checklist_links_only_to_forms_the_user_may_use(instance: Instance) -> None:
    """The getting-started checklist (issue 19) on the admin index, before any mail flowed: a superuser gets a link
    to every step's form, a viewer sees the steps but no link to an add form, and staff who may not see instances,
    support users and anonymous see no checklist (nor the instance's problems)."""
    clients = make_clients(instance)
    pages = {role: clients[role].get("/admin/") for role in ROLES}
    assert pages["anonymous"].status_code == 302 and pages["support"].status_code in {302, 403}  # not staff
    root, viewer = pages["superuser"].content.decode(), pages["viewer"].content.decode()
    assert 'id="getting-started"' in root and 'id="getting-started"' in viewer
    for form in ("/admin/trackers/project/add/", "/admin/profiles/profile/add/", "/admin/inbound/source/add/"):
        assert f'href="{form}"' in root and form not in viewer
    assert pages["support_staff"].status_code == 403  # support staff never open the admin
    assert pages["staff"].status_code == 200 and 'id="getting-started"' not in pages["staff"].content.decode()
