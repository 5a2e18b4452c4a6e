"""Which Tracker serves an instance: ``get_tracker(instance)`` is the only way callers get one."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from jemh.models import Instance, TrackerKind
from trackers.errors import TrackerNotAvailable
from trackers.interface import Tracker
from trackers.local import LocalTracker
from trackers.models import Issue, Project


def get_tracker(instance: Instance) -> Tracker:
    """The Tracker of ``instance``: the local tracker for kind "local", the Jira backend for kind "jira"
    (TrackerNotAvailable while its URL or credentials are missing)."""
    if instance.tracker_kind == TrackerKind.LOCAL:
        return LocalTracker(instance)
    if instance.tracker_kind == TrackerKind.JIRA:
        from trackers.jira import tracker_for

        return tracker_for(instance)
    raise TrackerNotAvailable(f"instance {instance.name!r} has an unknown tracker kind {instance.tracker_kind!r}")


def issue_url(instance_id: int, key: str) -> str:
    """Where a person reads the issue ``key`` of an instance: the trackers admin page of a local issue ("" when
    there is no such issue); for a Jira instance, the issue's browse URL on the site."""
    instance = Instance.objects.filter(pk=instance_id).only("tracker_kind", "base_url").first()
    if instance is not None and instance.tracker_kind == TrackerKind.JIRA and instance.base_url:
        return f"{instance.base_url.rstrip('/')}/browse/{key.strip().upper()}"
    if instance is None or instance.tracker_kind != TrackerKind.LOCAL:
        return ""
    pk = Issue.objects.filter(instance_id=instance_id, key=key.strip().upper()).values_list("pk", flat=True).first()
    return reverse("admin:trackers_issue_change", args=[pk]) if pk is not None else ""


def issue_urls(instance_id: int, keys: Iterable[str]) -> dict[str, str]:
    """``issue_url`` for many keys of one instance at once (two queries, whatever their number): by key as given,
    "" for a key with no page."""
    wanted = {key: key.strip().upper() for key in keys if key}
    if not wanted:
        return {}
    instance = Instance.objects.filter(pk=instance_id).only("tracker_kind", "base_url").first()
    if instance is not None and instance.tracker_kind == TrackerKind.JIRA and instance.base_url:
        return {key: f"{instance.base_url.rstrip('/')}/browse/{upper}" for key, upper in wanted.items()}
    if instance is None or instance.tracker_kind != TrackerKind.LOCAL:
        return dict.fromkeys(wanted, "")
    pks = dict(Issue.objects.filter(instance_id=instance_id, key__in=set(wanted.values())).values_list("key", "pk"))
    return {
        key: reverse("admin:trackers_issue_change", args=[pks[upper]]) if upper in pks else ""
        for key, upper in wanted.items()
    }


def known_project_keys(instance: Instance) -> frozenset[str] | None:
    """The keys of the instance's projects when knowing them costs no remote call (the local tracker's), else None
    (Jira's projects are checked by *Test tracker connection* and when mail names one)."""
    if instance.tracker_kind != TrackerKind.LOCAL:
        return None
    return frozenset(Project.objects.filter(instance_id=instance.pk).values_list("key", flat=True))
