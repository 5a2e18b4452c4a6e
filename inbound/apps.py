from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Mail sources (IMAP, POP3, Maildir, MTA pipe), retrieval tasks, message understanding (mime/), the processing
    pipeline (pipeline/), test cases.
    """

    name = "inbound"
    verbose_name = "Inbound mail"
