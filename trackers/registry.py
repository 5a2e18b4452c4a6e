"""Which Tracker serves an instance: ``get_tracker(instance)`` is the only way callers get one."""

from __future__ import annotations

from jemh.models import Instance, TrackerKind
from trackers.errors import TrackerNotAvailable
from trackers.interface import Tracker
from trackers.local import LocalTracker


def get_tracker(instance: Instance) -> Tracker:
    """The Tracker of ``instance``: the local tracker for kind "local"; TrackerNotAvailable otherwise."""
    if instance.tracker_kind == TrackerKind.LOCAL:
        return LocalTracker(instance)
    if instance.tracker_kind == TrackerKind.JIRA:
        raise TrackerNotAvailable(
            f"instance {instance.name!r} uses Jira, and the Jira backend is not available in this version; "
            "switch the instance to the built-in local tracker or upgrade"
        )
    raise TrackerNotAvailable(f"instance {instance.name!r} has an unknown tracker kind {instance.tracker_kind!r}")
