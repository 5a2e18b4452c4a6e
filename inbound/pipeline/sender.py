"""Who the sender is: the From address, whether the mail is authenticated for its domain (the source's trusted
``Authentication-Results``, under the profile's sender-authentication setting), the tracker account it may be
matched to, and the one address a hint may go to. Worked out once per message, on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbound.mime.authentication import AuthenticationVerdict, authentication_verdict
from inbound.pipeline.context import Context
from profiles.choices import SenderAuthentication
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


def identify(ctx: Context) -> Sender:
    """The message's sender (computed once per context: one tracker look-up)."""
    if ctx.decisions.sender is None:
        ctx.decisions.sender = _identify(ctx)
    return ctx.decisions.sender


def _identify(ctx: Context) -> Sender:
    email = ctx.mail.sender_email
    verdict = authentication_verdict(ctx.message.headers, ctx.mail.trusted_authserv_ids, email)
    usable = bool(email) and "@" in email and not any(c.isspace() for c in email)
    found = ctx.tracker.find_user_by_email(email) if usable else None
    mode = ctx.profile.sender_authentication
    envelope = verdict.envelope_sender
    if mode == SenderAuthentication.IGNORE:
        reason = "the profile trusts the From address (sender authentication: ignore)"
        return Sender(email, found, True, reason, verdict, email)
    if verdict.authenticated:
        return Sender(email, found, True, verdict.reason, verdict, email)
    if mode == SenderAuthentication.PREFER and found is not None and not verdict.failed:
        reason = f"{verdict.reason}; matched to the account anyway (prefer), with an e-mail-only sender's rights"
        return Sender(email, found, False, reason, verdict, envelope)
    reason = verdict.reason
    if found is not None:
        reason += "; the address has an account, but unauthenticated mail may not act as it: e-mail-only"
    return Sender(email, None, False, reason, verdict, envelope)


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
