from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Issue events (Jira webhooks, local tracker signals), notification mappings, templates, rendering, threading
    headers, sending.
    """

    name = "notifications"
    verbose_name = "Notifications"
