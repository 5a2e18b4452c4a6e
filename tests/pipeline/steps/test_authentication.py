"""The sender-authentication step, in memory (issue 14): a forged From never borrows an account."""

from __future__ import annotations

from inbound.pipeline.identity import identify
from inbound.pipeline.steps.authentication import SenderAuthentication
from tests.pipeline.steps.factory import TRUSTED_MTA, authenticated, context, memory, profile

FORGED = "Helpdesk <helpdesk@example.org>"


def _ctx(headers: dict[str, str] | None = None, mode: str = "require", trusted: tuple[str, ...] = (TRUSTED_MTA,)):
    ctx = context(sender=FORGED, headers=headers, trusted=trusted, config=profile(sender_authentication=mode))
    memory(ctx).add_user("helpdesk", "helpdesk@example.org")
    return ctx


def test_a_forged_from_of_a_staff_address_is_an_email_only_sender() -> None:
    ctx = _ctx()
    verdict = SenderAuthentication()(ctx)
    sender = identify(ctx)
    assert sender.account is None and not sender.authenticated and sender.hint_address == ""
    assert "no Authentication-Results header from a trusted authserv-id" in verdict.reason
    assert "the address has an account, but unauthenticated mail may not act as it" in verdict.reason
    assert verdict.details["dmarc"] == "none reported" and verdict.details["account"] == ""


def test_authenticated_mail_acts_as_its_account_and_the_verdict_is_reported() -> None:
    ctx = _ctx(authenticated("example.org"))
    verdict = SenderAuthentication()(ctx)
    sender = identify(ctx)
    assert sender.account is not None and sender.account.account_id == "helpdesk" and sender.authenticated
    assert sender.hint_address == "helpdesk@example.org"
    assert (verdict.details["dmarc"], verdict.details["dkim"], verdict.details["spf"]) == ("pass", "pass", "pass")
    assert verdict.details["authserv_id"] == TRUSTED_MTA


def test_the_verdict_of_an_untrusted_authserv_id_is_ignored() -> None:
    ctx = _ctx(authenticated("example.org", authserv_id="mx.attacker.example"))
    SenderAuthentication()(ctx)
    assert identify(ctx).account is None


def test_prefer_matches_mail_without_a_verdict_but_gives_no_account_rights() -> None:
    ctx = _ctx(mode="prefer", trusted=())
    SenderAuthentication()(ctx)
    sender = identify(ctx)
    assert sender.account is not None and not sender.authenticated and sender.trusted_account is None


def test_prefer_never_matches_mail_that_failed_dmarc() -> None:
    headers = {"Authentication-Results": f"{TRUSTED_MTA}; dmarc=fail header.from=example.org"}
    ctx = _ctx(headers, mode="prefer")
    SenderAuthentication()(ctx)
    assert identify(ctx).account is None


def test_ignore_trusts_the_from_address() -> None:
    ctx = _ctx(mode="ignore", trusted=())
    SenderAuthentication()(ctx)
    sender = identify(ctx)
    assert sender.authenticated and sender.trusted_account is not None
    assert sender.hint_address == "helpdesk@example.org"


def test_the_envelope_sender_authenticated_by_spf_is_where_a_hint_may_go() -> None:
    headers = {"Authentication-Results": f"{TRUSTED_MTA}; spf=pass smtp.mailfrom=list-bounces@lists.example.net"}
    ctx = _ctx(headers)
    assert identify(ctx).hint_address == "list-bounces@lists.example.net"
