"""Sender authentication from Authentication-Results (RFC 8601), issue 14: only our own MTA's verdict counts, and
only a pass aligned with the From domain authenticates it."""

from __future__ import annotations

import time

from inbound.mime.authentication import MAX_VALUE, aligned, authentication_verdict

OURS = "mx.support.example.com"


def ar(value: str) -> tuple[str, str]:
    return ("Authentication-Results", value)


def test_dmarc_pass_of_our_mta_authenticates_the_from_domain() -> None:
    headers = [
        ar(
            f"{OURS}; spf=pass smtp.mailfrom=b@example.org; dkim=pass header.d=example.org; "
            "dmarc=pass (p=reject) header.from=example.org"
        )
    ]
    verdict = authentication_verdict(headers, [OURS], "alice@example.org")
    assert verdict.authenticated and verdict.by == "dmarc"
    assert (verdict.dmarc, verdict.dkim, verdict.spf) == ("pass", "pass", "pass")
    assert verdict.as_dict()["authserv_id"] == OURS


def test_a_forged_header_naming_another_authserv_id_is_not_believed() -> None:
    """The attacker writes their own Authentication-Results: only the admin's authserv-ids count."""
    headers = [ar("mx.attacker.example; dmarc=pass header.from=example.org; dkim=pass header.d=example.org")]
    verdict = authentication_verdict(headers, [OURS], "helpdesk@example.org")
    assert not verdict.authenticated and not verdict.trusted
    assert "no Authentication-Results header from a trusted authserv-id" in verdict.reason


def test_without_a_trusted_authserv_id_nobody_is_authenticated() -> None:
    headers = [ar(f"{OURS}; dmarc=pass header.from=example.org")]
    verdict = authentication_verdict(headers, [], "alice@example.org")
    assert not verdict.authenticated and "trusts no authserv-id" in verdict.reason


def test_a_pass_for_another_domain_does_not_authenticate_the_from() -> None:
    """A forged From: helpdesk@example.org sent from the attacker's own, properly signed domain."""
    headers = [
        ar(
            f"{OURS}; dkim=pass header.d=attacker.example; spf=pass smtp.mailfrom=x@attacker.example; "
            "dmarc=fail header.from=example.org"
        )
    ]
    verdict = authentication_verdict(headers, [OURS], "helpdesk@example.org")
    assert not verdict.authenticated and verdict.failed
    assert verdict.envelope_sender == "x@attacker.example"  # SPF passed for it: a hint may go there, not to From
    assert "not authenticated for example.org" in verdict.reason


def test_an_aligned_dkim_signature_authenticates_without_dmarc() -> None:
    headers = [ar(f"{OURS}; dkim=fail header.d=other.example; dkim=pass header.d=example.org")]
    verdict = authentication_verdict(headers, [OURS], "alice@eu.example.org")
    assert verdict.authenticated and verdict.by == "dkim" and verdict.dkim == "pass"


def test_an_aligned_spf_pass_authenticates() -> None:
    headers = [ar(f"{OURS}; spf=pass smtp.mailfrom=bounces@example.org")]
    verdict = authentication_verdict(headers, [OURS], "alice@example.org")
    assert verdict.authenticated and verdict.by == "spf"


def test_a_dmarc_pass_for_another_header_from_does_not_count() -> None:
    headers = [ar(f"{OURS}; dmarc=pass header.from=attacker.example")]
    assert not authentication_verdict(headers, [OURS], "alice@example.org").authenticated


def test_results_of_several_milters_of_our_mta_are_combined() -> None:
    headers = [ar(f"{OURS}; dmarc=pass header.from=example.org"), ar(f"{OURS}; spf=softfail smtp.mailfrom=a@b.c")]
    verdict = authentication_verdict(headers, [OURS.upper()], "alice@example.org")
    assert verdict.authenticated and verdict.spf == "softfail"


def test_a_top_level_domain_never_aligns() -> None:
    assert not aligned("example.org", "org") and aligned("eu.example.org", "example.org")
    assert not aligned("example.org", "badexample.org")


def test_hostile_values_are_ignored_quickly_and_never_raise() -> None:
    """Deeply nested comments (the parser recurses), unparsable and overlong values: no verdict, no error."""
    hostile = [
        ar(f"{OURS}; dkim=pass " + "(" * 3000 + ")" * 3000),
        ar(f'{OURS}; dkim=pass header.d="' + "a" * 3000),
        ar(f"{OURS}; " + "; ".join(f"dkim=pass header.d=x{i}.example" for i in range(MAX_VALUE // 20))),
        ar("\x00\r\n;;;"),
    ]
    started = time.monotonic()
    verdict = authentication_verdict(hostile, [OURS], "alice@example.org")
    assert time.monotonic() - started < 2
    assert not verdict.authenticated
