from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)


class NotificationsConfig(AppConfig):
    """Issue events (Jira webhooks, local tracker signals), notification mappings, templates, rendering, threading
    headers, sending.
    """

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import tasks  # noqa: F401 - registered at start-up (see InboundConfig.ready)
        from notifications.intake import on_local_issue_event
        from trackers.signals import issue_event_in_transaction

        # inside the change's transaction: the event is recorded with the change, or neither is
        issue_event_in_transaction.connect(on_local_issue_event, dispatch_uid="notifications.record_local_issue_event")
