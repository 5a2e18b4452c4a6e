"""Routing, in memory."""

from inbound.pipeline.steps.routing import Routing
from profiles.choices import MappingRuleKind
from profiles.config import MappingRuleConfig
from tests.pipeline.steps.factory import context, mapping, profile


def test_the_default_mapping_without_rules() -> None:
    ctx = context()
    verdict = Routing()(ctx)
    assert ctx.decisions.mapping is not None and ctx.decisions.mapping.project_key == "ABC"
    assert verdict.outcome is None and verdict.details["project"] == "ABC"


def test_a_matching_rule_chooses_its_mapping() -> None:
    sales = mapping(
        id=2,
        name="sales",
        is_default=False,
        project_key="SAL",
        rules=(MappingRuleConfig(MappingRuleKind.SUBJECT, "", "(?i)fire", 1),),
    )
    ctx = context(config=profile(mappings=(sales,)))
    Routing()(ctx)
    assert ctx.mapping.name == "sales"
