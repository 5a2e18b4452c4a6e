"""The profile's filter rules, in memory."""

from inbound.pipeline.outcome import Outcome
from inbound.pipeline.steps.filter_rules import FilterRules
from profiles.choices import FilterAction, FilterRuleKind
from profiles.config import FilterRuleConfig
from tests.pipeline.steps.factory import context, profile


def test_a_blocked_subject_ends_in_the_rules_action() -> None:
    rule = FilterRuleConfig(FilterRuleKind.SUBJECT_BLOCK, "", "(?i)fire", FilterAction.DROP, "")
    verdict = FilterRules()(context(config=profile(filters=dict(rules=(rule,)))))
    assert verdict.outcome == Outcome.DROPPED


def test_no_rule_goes_on() -> None:
    assert FilterRules()(context()).reason == "no filter rule applies"
