from django.apps import AppConfig


class AuditingConfig(AppConfig):
    """The read side of the audit: browsing inbound and outbound mail (the inbound audit admin), and to come, support
    flagging and the support views, retention and purge, data-subject export/erasure. It owns no record of the mail
    itself: it reads the writer apps' models and calls their service functions, and no other app imports it.
    """

    name = "auditing"
    verbose_name = "Auditing"
