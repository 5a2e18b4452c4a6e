from django.apps import AppConfig
from django.db.models.signals import post_delete


class AuditingConfig(AppConfig):
    """The read side of the audit: browsing inbound and outbound mail (the inbound audit admin), reading stored raw
    mail (every read recorded), support flagging and the support views (with their access log). It owns only the
    records it writes (reads, flags, the access log); it reads the writer apps' models and calls their service
    functions, and no other app imports it.
    """

    name = "auditing"
    verbose_name = "Auditing"

    def ready(self) -> None:
        # Imported here: these modules import models, which cannot be imported before the app registry is ready.
        from auditing import receivers
        from auditing import tasks as auditing_tasks  # noqa: F401
        from auditing.models import SupportFlag

        post_delete.connect(receivers.flag_deleted, sender=SupportFlag, dispatch_uid="auditing.flag_deleted")
        from auditing import (
            purge_admin,  # noqa: F401  (registers the PurgeRun admin)
            subject_admin,  # noqa: F401  (registers the ErasureRecord admin and the subject pages)
        )
        from auditing.retention import last_purge
        from jemh.admin import INSTANCE_SUMMARIES

        INSTANCE_SUMMARIES.append(("Last purge", last_purge))
