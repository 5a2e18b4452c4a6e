from django.apps import AppConfig


class AuditingConfig(AppConfig):
    """The read side of the audit: browsing inbound and outbound mail (the inbound audit admin), and to come, support
    flagging and the support views, retention and purge, data-subject export/erasure. It owns no record of the mail
    itself: it reads the writer apps' models and calls their service functions, and no other app imports it.
    """

    name = "auditing"
    verbose_name = "Auditing"

    def ready(self) -> None:
        from auditing import purge_admin  # noqa: F401  (registers the PurgeRun admin)
        from auditing.retention import last_purge
        from jemh.admin import INSTANCE_SUMMARIES

        INSTANCE_SUMMARIES.append(("Last purge", last_purge))
