"""The Jira backend: Cloud (REST v3) and Data Center (REST v2) behind the Tracker interface."""

from __future__ import annotations

import threading
from collections.abc import Callable

from jemh.models import Instance, JiraDeployment
from trackers.errors import TrackerError, TrackerNotAvailable
from trackers.jira.client import CLOUD, DATA_CENTER, Credentials, JiraClient
from trackers.jira.concurrency import CallSlots
from trackers.jira.fields import FieldMap
from trackers.jira.tracker import JiraTracker

__all__ = ["Credentials", "JiraClient", "JiraTracker", "client_for", "tracker_for"]

_clients: dict[tuple[int, str, str, int], JiraClient] = {}
_lock = threading.Lock()


def credentials_of(instance: Instance) -> Credentials:
    if instance.jira_deployment == JiraDeployment.DATA_CENTER:
        return Credentials(DATA_CENTER, pat=instance.jira_pat or "")
    return Credentials(CLOUD, email=instance.jira_email or "", api_token=instance.jira_api_token or "")


def client_for(instance: Instance) -> JiraClient:
    """The instance's client (one per instance and credentials, so its connections are pooled and reused), which
    keeps at most the instance's ``jira_max_concurrency`` calls in flight across all workers."""
    if not instance.base_url:
        raise TrackerNotAvailable(
            f"the Jira backend is not available for instance {instance.name!r}: it has no base URL; set the site's URL"
        )
    if not instance.jira_credentials_set:
        raise TrackerNotAvailable(
            f"the Jira backend is not available for instance {instance.name!r}: its credentials are not set; "
            + (
                "set a personal access token"
                if instance.jira_deployment == JiraDeployment.DATA_CENTER
                else "set the account e-mail and API token"
            )
        )
    credentials = credentials_of(instance)
    bound = instance.jira_max_concurrency
    key = (instance.pk or 0, instance.base_url, str(hash(credentials)), bound)
    with _lock:
        if key not in _clients:
            slots = CallSlots(instance.pk or 0, bound)
            client = JiraClient(instance.base_url, credentials, slots=slots, max_connections=bound)
            client.field_name = _field_namer(client)
            _clients[key] = client
        return _clients[key]


def _field_namer(client: JiraClient) -> Callable[[str], str | None]:
    """A custom field's name by its id, from the site's cached field list (None when that cannot be read)."""

    def name_of(field_id: str) -> str | None:
        try:
            info = FieldMap(client).by_id(field_id)
        except TrackerError:
            return None
        return info.name if info is not None else None

    return name_of


def tracker_for(instance: Instance) -> JiraTracker:
    return JiraTracker(instance, client_for(instance))
