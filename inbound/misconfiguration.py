"""Misconfiguration made loud: what keeps an instance's mail from becoming issues although everything looks saved.

Three problems are recognised:

- *ambiguous profile*: an enabled source names no profile and its instance has no or several enabled profiles
  (after importing a profile, say), so its mail ends in ``error``;
- *unknown project*: a project mapping of an enabled profile names a project the tracker does not have (the local
  tracker's projects are known here; Jira's are found out when mail names one);
- *tracker refused*: the tracker refused the instance's credentials, so its processing is paused
  (``inbound.pipeline.pause`` already logs it and tells the admins once).

Each problem shows on the admin index's checklist, logs one WARNING and mails the instance's admins once (the
alert's idempotency key names the problem and what it is made of, so a problem that comes back in another shape is
told again), when the admin saves a configuration that has it (a warning on the page, at once) or when mail runs
into it, whichever comes first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.mail import EmailMessage
from django.http import HttpRequest
from django.urls import reverse

from inbound.models import Source
from jemh.models import Instance
from notifications.choices import OutboundKind
from notifications.services import send_mail
from profiles.models import Profile
from profiles.services import NoProfile, tracker_needs
from trackers.errors import ProjectNotFound
from trackers.registry import known_project_keys

log = logging.getLogger(__name__)

AMBIGUOUS_PROFILE = "ambiguous-profile"
UNKNOWN_PROJECT = "unknown-project"
TRACKER_REFUSED = "tracker-refused"


@dataclass(frozen=True)
class Problem:
    """One misconfiguration of an instance: what is wrong and what to do (no personal data), where to fix it, and
    the identity its single alert is recorded under."""

    instance_id: int
    instance_name: str
    kind: str
    identity: str
    message: str
    url: str = ""

    @property
    def alert_key(self) -> str:
        digest = hashlib.sha256(self.identity.encode()).hexdigest()[:32]
        return f"instance:{self.instance_id}:misconfigured:{self.kind}:{digest}"


def _admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def _ambiguous_profiles(instance: Instance) -> list[Problem]:
    enabled = list(
        Profile.objects.filter(instance_id=instance.pk, enabled=True).order_by("pk").values_list("pk", "name")
    )
    if len(enabled) == 1:
        return []
    found = []
    for pk, name in Source.objects.filter(instance_id=instance.pk, enabled=True, profile__isnull=True).values_list(
        "pk", "name"
    ):
        names = ", ".join(repr(n) for _, n in enabled)
        why = f"{len(enabled)} enabled profiles ({names})" if enabled else "no enabled profile"
        found.append(
            Problem(
                instance.pk,
                instance.name,
                AMBIGUOUS_PROFILE,
                f"source:{pk}:profiles:{','.join(str(p) for p, _ in enabled)}",
                f"{instance.name}: source {name!r} names no profile and the instance has {why}, so its mail ends in "
                "error. Choose the source's profile, or leave exactly one profile enabled.",
                _admin_url("inbound_source_change", pk),
            )
        )
    return found


def _unknown_projects(instance: Instance) -> list[Problem]:
    keys = known_project_keys(instance)
    if keys is None:
        return []
    found = []
    for key, where in sorted(tracker_needs(instance.pk).projects.items()):
        if key not in keys:
            found.append(unknown_project(instance, key, "; ".join(where)))
    return found


def unknown_project(instance: Instance, key: str, where: str = "") -> Problem:
    """The problem of a mapping naming the project ``key`` that the tracker does not have."""
    named = f" ({where})" if where else ""
    return Problem(
        instance.pk,
        instance.name,
        UNKNOWN_PROJECT,
        f"project:{key}",
        f"{instance.name}: a project mapping names the project {key}{named}, which the tracker does not have, so "
        "mail routed there ends in error. Create the project, or correct the mapping's project key.",
        _admin_url("trackers_project_add") if instance.tracker_kind == "local" else "",
    )


def _tracker_refused(instance: Instance) -> list[Problem]:
    if not instance.processing_paused:
        return []
    return [
        Problem(
            instance.pk,
            instance.name,
            TRACKER_REFUSED,
            f"paused:{instance.processing_paused_at.isoformat() if instance.processing_paused_at else ''}",
            f"{instance.name}: the tracker refused the instance's credentials, so its processing is paused (its "
            "mail waits). Fix the credentials, check them with Test tracker connection, then Resume processing.",
            _admin_url("jemh_instance_change", instance.pk),
        )
    ]


def problems_of(instance: Instance) -> list[Problem]:
    """The instance's misconfigurations now."""
    return [*_tracker_refused(instance), *_ambiguous_profiles(instance), *_unknown_projects(instance)]


def alert(problem: Problem) -> bool:
    """Log the problem at WARNING and mail the instance's admins (else settings.ADMINS), once per problem: True when
    this call told them. A paused instance was told by the pause itself."""
    if problem.kind == TRACKER_REFUSED:
        return False
    instance = Instance.objects.get(pk=problem.instance_id)
    recipients = sorted({user.email for user in instance.admins.all() if user.email})
    if not recipients:
        recipients = [email for _, email in getattr(settings, "ADMINS", [])]
    if not recipients:
        log.warning("misconfiguration (%s) of instance %s; it has no admin to tell", problem.kind, problem.instance_id)
        return False
    body = (
        f"{problem.message}\n\n"
        "You receive this once for this problem; it stays on the admin's start page until it is fixed.\n"
    )
    subject = f"[JEMH] {instance.name} is misconfigured: {problem.kind.replace('-', ' ')}"
    try:
        sent = send_mail(
            kind=OutboundKind.ALERT,
            instance=instance,
            message=EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients),
            idempotency_key=problem.alert_key,
        )
    except Exception:
        log.exception("could not mail the admins of instance %s about its misconfiguration", problem.instance_id)
        return False
    if all(mail.duplicate for mail in sent):
        return False
    log.warning("instance %s is misconfigured (%s): its admins were told", problem.instance_id, problem.kind)
    return True


def report(instance: Instance) -> list[Problem]:
    """The instance's problems, each alerted (once)."""
    found = problems_of(instance)
    for problem in found:
        alert(problem)
    return found


def noticed_while_processing(instance: Instance, error: BaseException) -> None:
    """Mail ran into ``error``: when it is a misconfiguration (no profile to choose, an unknown project), make it
    loud. Never raises (processing records the message's error whatever happens here)."""
    try:
        if isinstance(error, NoProfile):
            report(instance)
        elif isinstance(error, ProjectNotFound):
            found = report(instance)
            if instance.tracker_kind != "local" and not any(p.kind == UNKNOWN_PROJECT for p in found):
                key = str(getattr(error, "project_key", "") or "").upper()
                alert(unknown_project(instance, key or "(unknown)"))
    except Exception:
        log.exception("could not check instance %s for misconfiguration", instance.pk)


def on_configuration_saved(sender: Any, instance_id: int, request: HttpRequest, **kwargs: Any) -> None:
    """Receiver of ``jemh.configuration.configuration_saved``: warn on the admin's next page of every problem the
    saved configuration has, and alert (once) its admins."""
    instance = Instance.objects.filter(pk=instance_id).first()
    if instance is None:
        return
    for problem in report(instance):
        if problem.kind != TRACKER_REFUSED:
            messages.warning(request, problem.message)
