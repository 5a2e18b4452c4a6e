"""Checking an instance's tracker against what its profiles use: the connection and the account's permissions in
every project the mappings name, and the custom fields the mail handler writes (created on request).

The checks are the Jira backend's (``trackers.jira.check``); what to check comes from the profiles. This module
joins the two (``profiles`` and ``trackers`` do not import each other), for the admin actions and ``jemh jira``.
"""

from __future__ import annotations

from jemh.models import Instance, TrackerKind
from profiles.services import tracker_needs
from trackers.jira import check
from trackers.jira.check import Report


def _local(instance: Instance, title: str) -> Report | None:
    if instance.tracker_kind == TrackerKind.JIRA:
        return None
    report = Report(title, authenticated=True)
    report.add(True, "the instance uses the built-in local tracker: there is nothing to connect to or create.")
    return report


def connection_report(instance: Instance) -> Report:
    """Reachable, deployment and version, authenticated as whom, and per project what the account may do."""
    return _local(instance, f"Tracker connection of {instance.name}:") or check.check_connection(
        instance, tracker_needs(instance.pk).projects
    )


def fields_report(instance: Instance) -> Report:
    """Which custom fields the handler uses exist (``missing`` lists the others)."""
    return _local(instance, f"Custom fields of {instance.name}:") or check.check_fields(
        instance, tracker_needs(instance.pk).foreign_key_fields
    )


def create_missing_fields(instance: Instance) -> Report:
    """Create the custom fields that are missing; the report says what was created and what is left to do."""
    found = fields_report(instance)
    if not found.missing:
        found.title = f"Creating custom fields in {instance.name}: nothing to create."
        return found
    return check.create_fields(instance, found.missing)
