"""What a failed send was: the mail server (SMTP, or Microsoft Graph) unusable, or the delivery uncertain."""

from __future__ import annotations


class SmtpOutage(Exception):
    """The mail server (SMTP, or Microsoft Graph) could not be reached or used; ``cause`` is what was seen."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class DeliveryUncertain(Exception):
    """The message was sent in full but the server's answer never came: it may have been accepted."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
