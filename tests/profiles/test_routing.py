"""Catch addresses and the selection of a project mapping by rules."""

from __future__ import annotations

import pytest

from profiles.routing import MessageFacts, matches_catch_address, select_mapping, split_subaddress
from profiles.services import load_profile_config


@pytest.fixture()
def config(rich_profile):
    return load_profile_config(rich_profile.pk)


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (["support@example.com"], True),
        (["Support@EXAMPLE.com"], True),  # case-insensitive
        (["Help Desk <SUPPORT@example.com>"], True),  # display names are fine
        (["support+sales@example.com"], True),  # a sub-address of a literal catch address
        (["support+t-abc123@example.com"], True),  # a reply token of the reply address
        (["someone@else.org", "help-billing@example.org"], True),  # regex, any of the recipients
        (["HELP-Billing@Example.COM"], True),  # regex, case-insensitive
        (["help-billing@example.net"], False),  # regex must match the whole address
        (["xsupport@example.com"], False),
        (["support@example.com.evil.org"], False),
        ([], False),
        ([""], False),
    ],
)
def test_catch_addresses(config, addresses, expected) -> None:
    assert matches_catch_address(config, addresses) is expected


def test_no_catch_address_catches_nothing_but_the_reply_address(rich_profile) -> None:
    rich_profile.catch_addresses.all().delete()
    config = load_profile_config(rich_profile.pk)
    assert not matches_catch_address(config, ["help-billing@example.org"])
    assert matches_catch_address(config, ["support@example.com"])


def test_split_subaddress() -> None:
    assert split_subaddress("Support+ABC@Example.com") == ("support@example.com", "abc")
    assert split_subaddress("support@example.com") == ("support@example.com", None)
    assert split_subaddress("a+b+c@x.org") == ("a@x.org", "b+c")


def _select(config, **facts):
    mapping, reason = select_mapping(config, MessageFacts(**facts))
    return mapping.name, reason


def test_subaddress_rule(config) -> None:
    name, reason = _select(config, sender="x@y.org", recipients=("support+Sales@example.com",))
    assert name == "Sales"
    assert "sub-address 'sales'" in reason and "priority 10" in reason
    assert _select(config, sender="x@y.org", recipients=("support+salesforce@example.com",))[0] == "Default"


def test_sender_rule_by_domain_or_address(config) -> None:
    assert _select(config, sender="Anna <anna@Customer.example>")[0] == "Sales"
    assert _select(config, sender="anna@notcustomer.example")[0] == "Default"  # the whole domain must match


def test_header_rule(config) -> None:
    assert _select(config, sender="a@b.org", headers={"x-customer-tier": "GOLD"})[0] == "VIP"
    assert (
        _select(config, sender="a@b.org", headers=[("X-Customer-Tier", "silver"), ("X-Customer-Tier", "gold")])[0]
        == "VIP"
    )
    assert _select(config, sender="a@b.org", headers={"X-Customer-Tier": "golden"})[0] == "Default"


def test_subject_rule(config) -> None:
    name, reason = _select(config, sender="a@b.org", subject="Re: vip request")
    assert name == "VIP" and "subject" in reason
    assert _select(config, sender="a@b.org", subject="VIPER")[0] == "Default"


def test_recipient_rule(config) -> None:
    assert _select(config, sender="a@b.org", recipients=("support@example.com", "VIP@example.com"))[0] == "VIP"
    assert _select(config, sender="a@b.org", recipients=("vip+x@example.com",))[0] == "VIP"  # sub-address stripped


def test_priority_order_first_match_wins(config) -> None:
    # sub-address (Sales, 10) beats header (VIP, 20)
    facts = {"sender": "a@b.org", "recipients": ("support+sales@example.com",), "headers": {"X-Customer-Tier": "gold"}}
    assert _select(config, **facts)[0] == "Sales"
    # header (VIP, 20) beats sender (Sales, 50)
    assert _select(config, sender="a@customer.example", headers={"X-Customer-Tier": "gold"})[0] == "VIP"
    # subject (VIP, 30) beats sender (Sales, 50)
    assert _select(config, sender="a@customer.example", subject="VIP")[0] == "VIP"


def test_priority_is_read_from_the_rules(rich_profile) -> None:
    from profiles.models import MappingRule

    MappingRule.objects.filter(kind="sender").update(priority=1)
    config = load_profile_config(rich_profile.pk)
    assert _select(config, sender="a@customer.example", subject="VIP")[0] == "Sales"


def test_fallback_is_the_default_mapping(config) -> None:
    mapping, reason = select_mapping(config, {"sender": "a@b.org", "subject": "hello"})
    assert mapping.is_default and mapping.project_key == "SUP"
    assert "no mapping rule matched" in reason
    assert select_mapping(config, MessageFacts())[0].is_default


def test_facts_from_a_parsed_message(config) -> None:
    from inbound.mime import parse

    raw = (
        b"From: Anna <anna@customer.example>\r\nTo: Support <support+Sales@example.com>\r\n"
        b"Cc: bob@example.org\r\nSubject: Printer\r\nX-Customer-Tier: gold\r\n\r\nHello\r\n"
    )
    facts = MessageFacts.from_parsed(parse(raw))
    assert facts.sender == "anna@customer.example"
    assert facts.recipients[:2] == ("support+sales@example.com", "bob@example.org")
    assert facts.subject == "Printer" and facts.header("x-customer-tier") == ("gold",)
    assert select_mapping(config, facts)[0].name == "Sales"
