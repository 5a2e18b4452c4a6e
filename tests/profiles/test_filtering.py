"""The profile's own filter rules."""

from __future__ import annotations

from profiles.filtering import match_filter_rules
from profiles.routing import MessageFacts
from profiles.services import load_profile_config


def test_filter_rules(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    hit = match_filter_rules(config, MessageFacts(sender="a@b.org", headers={"X-Mailer": ("MassMailer 3",)}))
    assert hit is not None and hit.action == "drop" and "X-Mailer" in hit.reason
    hit = match_filter_rules(config, MessageFacts(sender="a@b.org", subject="out of office: back Monday"))
    assert hit is not None and hit.action == "leave"
    hit = match_filter_rules(config, MessageFacts(sender="x@spammer.example"))
    assert hit is not None and hit.action == config.filters.sender_exclusion_action == "drop"
    assert match_filter_rules(config, MessageFacts(sender="boss@spammer.example")) is None  # included
    assert match_filter_rules(config, MessageFacts(sender="x@notspammer.example", subject="Hello")) is None
