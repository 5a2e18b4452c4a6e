from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Mail sources (IMAP, POP3, Maildir, MTA pipe), retrieval tasks, message understanding (mime/), the processing
    pipeline (pipeline/), test cases.
    """

    name = "inbound"
    verbose_name = "Inbound mail"

    def ready(self) -> None:
        # Task modules are imported here, at start-up, so every process registers the same tasks whatever
        # imports it does later.
        from inbound import tasks  # noqa: F401
        from inbound.pipeline import receivers  # noqa: F401 - queues captured mail
        from inbound.pipeline import tasks as pipeline_tasks  # noqa: F401
