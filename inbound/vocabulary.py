"""The tracker's projects, issue types and priorities for the profiles' mapping forms (``profiles.vocabulary``):
installed when the inbound app is ready, since inbound is the app that knows both profiles and trackers."""

from __future__ import annotations

from jemh.models import Instance
from profiles.vocabulary import ProjectVocabulary
from trackers.registry import get_tracker

MAX_PROJECTS = 30  # each costs a look-up (Jira: cached for the site); a mapping naming another shows it as well


def tracker_projects(instance: Instance) -> list[ProjectVocabulary]:
    tracker = get_tracker(instance)
    found = []
    for key in tracker.project_keys()[:MAX_PROJECTS]:
        project = tracker.get_project(key)
        found.append(
            ProjectVocabulary(
                key=project.key,
                name=project.name,
                issue_types=project.issue_types,
                priorities=project.priorities,
                default_issue_type=project.default_issue_type,
                default_priority=project.default_priority,
                lead=project.lead.account_id if project.lead else "",
            )
        )
    return found
