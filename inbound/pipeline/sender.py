"""Who the sender is: the From address, whether the mail is authenticated for its domain, the tracker account it
may act as, and the one address a hint may go to (worked out by ``inbound.pipeline.identity``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.mime.authentication import AuthenticationVerdict
from trackers.interface import TrackerIssue, TrackerUser


@dataclass(frozen=True)
class Sender:
    """The sender as far as the pipeline trusts them."""

    email: str  # the From address, lower case
    account: TrackerUser | None  # the tracker account the mail may act as; None: an e-mail-only sender
    authenticated: bool  # the mail is authenticated for the From domain (or the profile trusts From)
    reason: str  # why, for the report
    verdict: AuthenticationVerdict = field(default_factory=AuthenticationVerdict)
    hint_address: str = ""  # where a hint may go: the authenticated From or envelope sender ("" nowhere)

    @property
    def trusted_account(self) -> TrackerUser | None:
        """The account, when the mail is authenticated for it (an account holder's own rights apply)."""
        return self.account if self.authenticated else None

    def details(self) -> dict[str, Any]:
        return {
            **self.verdict.as_dict(),
            "mode_authenticated": self.authenticated,
            "account": self.account.account_id if self.account else "",
        }


def takes_part(issue: TrackerIssue, email: str) -> bool:
    """The address is the issue's reporter (account or e-mail-only), assignee, a watcher or a participant."""
    wanted = email.strip().lower()
    if not wanted:
        return False
    people = {p.lower() for p in issue.email_participants}
    people.add(issue.email_sender_address.lower())
    for user in (issue.reporter, issue.assignee, *issue.watchers):
        if user is not None:
            people.add(user.email.lower())
    return wanted in people
