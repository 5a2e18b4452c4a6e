"""Sender authentication (a handler): the SPF/DKIM/DMARC verdict of the source's own MTA for the From domain, and
whether the sender may act as their tracker account. It only records; later steps decide with it."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.identity import identify
from inbound.pipeline.outcome import Verdict, go_on


class SenderAuthentication:
    name = "sender_authentication"
    description = "Reads the trusted MTA's Authentication-Results: is the mail authenticated for the From domain?"

    def __call__(self, ctx: Context) -> Verdict:
        sender = identify(ctx)
        if sender.account is not None:
            who = f"may act as the account {sender.account.account_id}"
            if not sender.authenticated:
                who += " (with an e-mail-only sender's rights)"
        else:
            who = "an e-mail-only sender"
        return go_on(self.name, f"{sender.reason}: {who}", **sender.details())
