from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from inbound.signals import messages_captured


class InboundConfig(AppConfig):
    """Mail sources (IMAP, POP3, Maildir, MTA pipe), capture and the inbound audit (InboundMessage), retrieval tasks,
    message understanding (mime/), the processing pipeline (pipeline/), test cases.
    """

    name = "inbound"
    verbose_name = "Inbound mail"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which cannot be imported before the app
        # registry is ready. Importing the task modules at start-up also makes every process register the same
        # tasks, whatever it imports later.
        from inbound import receivers
        from inbound.models import Source
        from inbound.pipeline import receivers as pipeline_receivers
        from inbound.pipeline import tasks as pipeline_tasks  # noqa: F401
        from inbound.vocabulary import tracker_projects
        from profiles import vocabulary

        vocabulary.install(tracker_projects)  # the mapping forms offer the tracker's projects and values

        post_save.connect(receivers.source_saved, sender=Source, dispatch_uid="inbound.source_schedule_saved")
        post_delete.connect(receivers.source_deleted, sender=Source, dispatch_uid="inbound.source_schedule_deleted")
        messages_captured.connect(pipeline_receivers.queue_captured, dispatch_uid="inbound.pipeline.queue_captured")
