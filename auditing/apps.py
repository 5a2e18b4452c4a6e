from django.apps import AppConfig


class AuditingConfig(AppConfig):
    """Inbound/outbound audit records, raw message storage, retention and purge, support flagging and the support
    views, data-subject export/erasure.
    """

    name = "auditing"
    verbose_name = "Auditing"
