"""The getting-started checklist of the admin's start page: what a new admin creates, in order, until mail flows.

The steps are instance → project → profile with a complete default mapping → source → notification mapping →
first mail processed; each has its state (done / to do), the admin form that does it and one line on why. The
checklist is about one instance: the first (by name) that has not processed mail yet. Once an instance has
processed mail the checklist is gone; misconfigurations (``inbound.misconfiguration``) are shown whatever the
steps say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from inbound.misconfiguration import Problem, problems_of
from inbound.models import InboundMessage, InboundStatus, Source
from jemh import tenancy
from jemh.models import Instance, TrackerKind
from notifications.models import NotificationMapping
from profiles import inheritance
from profiles.models import Profile
from profiles.services import ProfileConfigError, profile_config
from trackers.registry import known_project_keys


@dataclass(frozen=True)
class Step:
    """One thing to set up: its title, whether it is done, why it matters and the form that does it."""

    title: str
    done: bool
    why: str
    url: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Checklist:
    """The steps for ``instance`` (None: there is none yet) and the misconfigurations of every instance."""

    instance: Instance | None
    steps: tuple[Step, ...]
    problems: tuple[Problem, ...]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def shown(self) -> bool:
        return bool(self.problems) or not self.complete


def _url(user: Any, model: str, action: str, *args: Any, query: str = "") -> str:
    """The admin URL of ``model`` ("app.model") for ``action`` (add, change, changelist), if the user may."""
    app, name = model.split(".")
    permission = {"add": "add", "change": "change", "changelist": "view"}[action]
    allowed = user.has_perm(f"{app}.{permission}_{name}")
    if not allowed and permission == "view":
        allowed = user.has_perm(f"{app}.change_{name}")
    if not allowed:
        return ""
    url = reverse(f"admin:{app}_{name}_{action}", args=args)
    return f"{url}?{query}" if query else url


def _profile_step(user: Any, instance: Instance | None) -> Step:
    title = "Create a profile with a complete default mapping"
    why = "A profile decides what mail becomes; its default mapping names the project, issue type and reporter."
    if instance is None:
        return Step(title, False, why, _url(user, "profiles.profile", "add"))
    profiles = list(Profile.objects.filter(instance=instance, enabled=True).order_by("name"))
    problems = []
    for profile in profiles:
        default = profile.mappings.filter(is_default=True).first()
        if default is None:
            problems.append((profile, f"Profile {profile.name!r} has no default mapping yet."))
            continue
        values, _ = inheritance.resolve(default.own_values(), {})
        missing = inheritance.missing_requirements(values)
        if missing:
            fields = ", ".join(name.replace("_", " ") for name in sorted(missing))
            problems.append((profile, f"The default mapping of {profile.name!r} is incomplete: set {fields}."))
            continue
        try:
            profile_config(profile)
        except ProfileConfigError as exc:
            problems.append((profile, str(exc)))
            continue
        return Step(title, True, why, _url(user, "profiles.profile", "change", profile.pk))
    if problems:
        profile, detail = problems[0]
        return Step(title, False, why, _url(user, "profiles.profile", "change", profile.pk), detail)
    return Step(title, False, why, _url(user, "profiles.profile", "add"))


def _project_step(user: Any, instance: Instance | None) -> Step:
    title = "Create a project in the tracker"
    why = "Issues are created in a project; a mapping names it by its key (SUP → SUP-1)."
    if instance is not None and instance.tracker_kind != TrackerKind.LOCAL:
        return Step(
            title,
            instance.jira_credentials_set,
            "The projects live in Jira: give the instance its credentials and check them with Test tracker connection.",
            _url(user, "jemh.instance", "change", instance.pk),
        )
    keys = known_project_keys(instance) if instance is not None else frozenset()
    return Step(title, bool(keys), why, _url(user, "trackers.project", "add"))


UNTRUSTED = (
    "No source trusts your mail server's verdicts yet (its trusted authserv-ids are empty): every sender is "
    "e-mail-only, and requesters get no acknowledgement and rejected senders no hint, since an unauthenticated From "
    "may be forged. Set the authserv-id your MTA writes in Authentication-Results (e.g. mx.example.com)."
)


def _source_step(user: Any, instance: Instance | None) -> Step:
    title = "Add a mail source"
    why = "Where mail is read from: a Maildir, an IMAP or POP3 mailbox, or a pipe from your mail server."
    sources = list(Source.objects.filter(instance=instance, enabled=True).order_by("name")) if instance else []
    if not sources:
        return Step(title, False, why, _url(user, "inbound.source", "add"))
    if any(source.trusted_authserv_ids.strip() for source in sources):
        return Step(title, True, why, _url(user, "inbound.source", "change", sources[0].pk))
    return Step(title, True, why, _url(user, "inbound.source", "change", sources[0].pk), UNTRUSTED)


def checklist_for(user: Any) -> Checklist:
    """The checklist as ``user`` sees it (links only to forms they may use)."""
    instances = list(tenancy.scoped(Instance.objects.order_by("name"), user, scope="pk"))
    flowed = {
        pk
        for pk in InboundMessage.objects.filter(status=InboundStatus.PROCESSED)
        .values_list("instance_id", flat=True)
        .distinct()
    }
    problems = tuple(problem for instance in instances for problem in problems_of(instance))
    if instances and any(i.pk in flowed for i in instances):
        return Checklist(None, (), problems)
    instance = instances[0] if instances else None
    steps = (
        Step(
            "Create an instance",
            instance is not None,
            "The tracker site mail becomes issues in; the built-in local tracker needs nothing more.",
            _url(user, "jemh.instance", "change", instance.pk)
            if instance is not None
            else _url(user, "jemh.instance", "add"),
        ),
        _project_step(user, instance),
        _profile_step(user, instance),
        _source_step(user, instance),
        Step(
            "Add a notification mapping",
            instance is not None and NotificationMapping.objects.filter(instance=instance, enabled=True).exists(),
            "Who hears about changes: it also tells each requester their issue key and how to reply.",
            _url(user, "notifications.notificationmapping", "add"),
        ),
        Step(
            "Process a first mail",
            False,
            "Send a message to the source (or pipe it into jemh deliver); its report says what became of it.",
            _url(user, "inbound.inboundmessage", "changelist"),
        ),
    )
    return Checklist(instance, steps, problems)
