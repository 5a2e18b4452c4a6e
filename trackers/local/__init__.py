"""The built-in local tracker: the Tracker interface on the Django models of :mod:`trackers.models`."""

from trackers.local.tracker import LocalTracker

__all__ = ["LocalTracker"]
