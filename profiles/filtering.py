"""The profile's own filter rules (custom headers, subject blocks, sender include/exclude lists). Pure.

The built-in filters (our own mail, auto-replies, bounces, bulk, spam, floods) need the message's
classification and history, so the pipeline applies them with the actions in ``config.filters``.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiles.choices import FilterAction, FilterRuleKind
from profiles.config import FilterRuleConfig, ProfileConfig
from profiles.patterns import compiled
from profiles.routing import MessageFacts, domain_of


@dataclass(frozen=True)
class FilterHit:
    action: FilterAction
    reason: str
    rule: FilterRuleConfig


def _sender_matches(rule: FilterRuleConfig, sender: str) -> bool:
    pattern = compiled(rule.pattern)
    return bool(sender and (pattern.fullmatch(sender) or pattern.fullmatch(domain_of(sender))))


def match_filter_rules(config: ProfileConfig, facts: MessageFacts) -> FilterHit | None:
    """The first filter rule that applies to the message, or None. Header rules, then subject blocks, then
    sender exclusions (unless an inclusion rule matches the sender: inclusions override exclusions)."""
    rules = config.filters.rules
    for rule in rules:
        if rule.kind == FilterRuleKind.HEADER:
            pattern = compiled(rule.pattern)
            if any(pattern.search(value) for value in facts.header(rule.header_name)):
                return FilterHit(rule.action, f"header {rule.header_name} matches {rule.pattern!r}", rule)
    for rule in rules:
        if rule.kind == FilterRuleKind.SUBJECT_BLOCK and compiled(rule.pattern).search(facts.subject):
            return FilterHit(rule.action, f"subject matches the blocked pattern {rule.pattern!r}", rule)
    included = any(_sender_matches(r, facts.sender) for r in rules if r.kind == FilterRuleKind.SENDER_INCLUDE)
    if not included:
        for rule in rules:
            if rule.kind == FilterRuleKind.SENDER_EXCLUDE and _sender_matches(rule, facts.sender):
                return FilterHit(
                    config.filters.sender_exclusion_action,
                    f"sender matches the exclusion {rule.pattern!r}",
                    rule,
                )
    return None
