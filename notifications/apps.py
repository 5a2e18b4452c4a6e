from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from trackers.signals import issue_event_in_transaction


class NotificationsConfig(AppConfig):
    """Issue events (Jira webhooks, local tracker signals), notification mappings, templates, rendering, threading
    headers, sending.
    """

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which cannot be imported before the app
        # registry is ready. Importing the tasks at start-up registers them in every process (see InboundConfig).
        from notifications import tasks  # noqa: F401
        from notifications.chat import on_instance_saved
        from notifications.intake import on_local_issue_event
        from notifications.mapping_cache import forget_cached_mappings
        from notifications.models import NotificationMapping
        from notifications.webhooks import tasks as webhook_tasks  # noqa: F401

        # inside the change's transaction: the event is recorded with the change, or neither is
        issue_event_in_transaction.connect(on_local_issue_event, dispatch_uid="notifications.record_local_issue_event")
        post_save.connect(on_instance_saved, sender="jemh.Instance", dispatch_uid="notifications.chat.registration")
        for signal in (post_save, post_delete):
            for model in (NotificationMapping, "jemh.Instance"):
                signal.connect(
                    forget_cached_mappings,
                    sender=model,
                    dispatch_uid=f"notifications.mapping_cache.{signal is post_save}.{model}",
                )
