"""What a project mapping's form offers: the projects of an instance's tracker, with their issue types and
priorities. The tracker is not ours to ask (``profiles`` imports no ``trackers``): the app that joins the two installs
a source with :func:`install` (``inbound.vocabulary``); without one, or while the tracker cannot answer, the fields
stay free text."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jemh.models import Instance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectVocabulary:
    """One project as a mapping's form offers it."""

    key: str
    name: str
    issue_types: tuple[str, ...]
    priorities: tuple[str, ...]
    default_issue_type: str
    default_priority: str
    lead: str  # the lead's account id ("" without one)


Source = Callable[[Instance], Sequence[ProjectVocabulary]]
_source: Source | None = None


def install(source: Source | None) -> None:
    global _source
    _source = source


def projects(instance: Instance | None) -> list[ProjectVocabulary] | None:
    """The projects of ``instance``'s tracker, or None when they are not known (no instance, no source, or the
    tracker did not answer: it is logged, and the form lets the admin type)."""
    if instance is None or _source is None:
        return None
    try:
        return list(_source(instance))
    except Exception as exc:  # the tracker is down or refuses: the form must still open
        log.warning("could not list the projects of instance %s for the admin: %s", instance.pk, exc)
        return None
