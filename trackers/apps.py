from django.apps import AppConfig


class TrackersConfig(AppConfig):
    """The Tracker interface; the built-in local tracker (Project, Issue, Comment, Attachment); the Jira REST
    backend.
    """

    name = "trackers"
    verbose_name = "Trackers"
