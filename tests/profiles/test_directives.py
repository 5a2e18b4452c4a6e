"""Directive extraction: every processor, the one with the most directives wins, aliases, allow/block lists."""

from __future__ import annotations

import pytest

from profiles.choices import AliasKind, ProcessorTarget
from profiles.config import DirectiveAliasConfig, DirectivesConfig, FieldProcessorConfig
from profiles.directives import extract_directives
from profiles.services import load_profile_config

ALL = ("at_prefix", "subject_hash", "colon", "headers", "regex")
ALIASES = (
    DirectiveAliasConfig(AliasKind.KEY_VALUE, "bug", "issueType", "Bug"),
    DirectiveAliasConfig(AliasKind.KEY, "type", "issueType", ""),
    DirectiveAliasConfig(AliasKind.VALUE, "urgent", "priority", "Highest"),
)


def make(processors=ALL, allow=(), block=(), aliases=ALIASES, field_processors=()):
    return DirectivesConfig(
        True, True, tuple(processors), tuple(allow), tuple(block), True, tuple(aliases), tuple(field_processors)
    )


def test_at_prefix_lines_at_the_top_of_the_body() -> None:
    body = '\n@priority=High\n@labels = printer,floor-2\n@summary="Printer jammed"\n\nThe printer is jammed.\n'
    result = extract_directives(make(), "Help", body, {})
    assert result.processor == "at_prefix"
    assert result.values == {"priority": "High", "labels": "printer,floor-2", "summary": "Printer jammed"}
    assert result.cleaned_body == "The printer is jammed."
    assert result.cleaned_subject == "Help"


def test_at_lines_below_the_top_are_prose() -> None:
    body = "Hello team,\n\n@priority=High\nthanks"
    result = extract_directives(make(), "Help", body, {})
    assert result.values == {} and result.processor == "" and result.cleaned_body == body


def test_a_mention_is_not_a_directive() -> None:
    body = "@john\nplease have a look"
    result = extract_directives(make(), "Help", body, {})
    assert result.values == {} and result.cleaned_body == body


def test_hash_directives_in_the_subject() -> None:
    result = extract_directives(make(), 'Printer #priority=urgent broken #labels="a b" #bug #general', "body", {})
    assert result.processor == "subject_hash"
    assert result.values == {"priority": "Highest", "labels": "a b", "issueType": "Bug"}
    assert result.cleaned_subject == "Printer broken #general"
    assert result.cleaned_body == "body"


def test_hash_numbers_are_not_directives() -> None:
    result = extract_directives(make(), "Order #123 and issue #45=x", "body", {})
    assert result.values == {} and result.cleaned_subject == "Order #123 and issue #45=x"


def test_colon_lines_take_only_known_names() -> None:
    body = "Priority: High\nType: bug\nComponents: Printers\n\nNote: the printer on floor 2.\nSummary: not taken"
    result = extract_directives(make(), "Help", body, {})
    assert result.processor == "colon"
    assert result.values == {"priority": "High", "issueType": "bug", "components": "Printers"}
    assert result.cleaned_body == "Note: the printer on floor 2.\nSummary: not taken"


def test_prose_with_colons_is_not_taken() -> None:
    body = "Note: the printer is broken.\nPriority: High\n"
    result = extract_directives(make(), "Help", body, {})
    assert result.values == {} and result.cleaned_body == body
    body = "Dear team,\nsummary: of our call\n"
    assert extract_directives(make(), "Help", body, {}).values == {}


def test_x_jemh_headers() -> None:
    headers = [("X-JEMH-issueKey", " SUP-12 "), ("X-JEMH-Priority", "High"), ("X-Mailer", "x")]
    result = extract_directives(make(), "Help", "body", headers)
    assert result.processor == "headers"
    assert result.values == {"issueKey": "SUP-12", "priority": "High"}
    assert (result.cleaned_subject, result.cleaned_body) == ("Help", "body")


def test_regex_field_processors() -> None:
    processors = (
        FieldProcessorConfig("order", ProcessorTarget.BODY, r"Order no\.\s*(\d+)", "customfield_10001", True),
        FieldProcessorConfig("ticket", ProcessorTarget.SUBJECT, r"ticket (?P<issueKey>[A-Z]+-\d+)", "", False),
    )
    result = extract_directives(make(field_processors=processors), "About ticket SUP-7", "Order no. 4711\nHi", {})
    assert result.processor == "regex"
    assert result.values == {"customfield_10001": "4711", "issueKey": "SUP-7"}
    assert result.cleaned_body == "Hi"  # strip_match
    assert result.cleaned_subject == "About ticket SUP-7"  # not stripped


def test_the_processor_finding_most_directives_wins() -> None:
    body = "@priority=Low\n\nbody text"
    subject = "Help #priority=High #labels=x"
    result = extract_directives(make(), subject, body, {})
    assert result.processor == "subject_hash"
    assert result.values == {"priority": "High", "labels": "x"}
    assert result.counts["at_prefix"] == 1 and result.counts["subject_hash"] == 2
    assert result.cleaned_body == body  # only the winner's text is cleaned
    assert result.cleaned_subject == "Help"
    assert "processor subject_hash found 2" in result.reasons[0]


def test_ties_go_to_the_first_processor_in_order() -> None:
    result = extract_directives(make(), "Help #priority=High", "@priority=Low\n\ntext", {})
    assert result.processor == "at_prefix" and result.values == {"priority": "Low"}


def test_disabled_processors_do_not_run() -> None:
    result = extract_directives(make(processors=("at_prefix",)), "Help #priority=High", "text", {})
    assert result.processor == "" and result.values == {}
    assert result.reasons == ("no directives found",)


def test_aliases_expand() -> None:
    result = extract_directives(make(), "Help", "@bug\n@type=Task\n@priority=URGENT\n\ntext", {})
    assert result.values == {"issueType": "Task", "priority": "Highest"}
    assert any("alias 'bug'" in r for r in result.reasons)
    assert any("given more than once" in r for r in result.reasons)


def test_unknown_directives_are_dropped_with_a_reason() -> None:
    result = extract_directives(make(), "Help", "@priority=High\n@frobnicate=yes\n\ntext", {})
    assert result.values == {"priority": "High"}
    assert "unknown directive 'frobnicate' ignored" in result.reasons


def test_block_list_drops_with_a_reason() -> None:
    result = extract_directives(make(block=("Reporter",)), "Help", "@reporter=ceo\n@priority=High\n\nx", {})
    assert result.values == {"priority": "High"}
    assert any("reporter dropped: it is on the profile's block list" in r for r in result.reasons)


def test_allow_list_drops_the_rest_and_makes_names_known() -> None:
    config = make(allow=("priority", "customer"))
    result = extract_directives(config, "Help", "@priority=High\n@labels=x\n@customer=ACME\n\nx", {})
    assert result.values == {"priority": "High", "customer": "ACME"}
    assert any("labels dropped: it is not on the profile's allow list" in r for r in result.reasons)


def test_case_insensitive_names_become_canonical() -> None:
    result = extract_directives(make(), "Help", "@ISSUETYPE=Bug\n@Priority=High\n\nx", {})
    assert result.values == {"issueType": "Bug", "priority": "High"}


def test_from_a_loaded_profile(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)  # colon on, reporter blocked, an order-number processor
    result = extract_directives(config, "Printer", "Reporter: boss\nPriority: urgent\n\nOrder no. 5", {})
    assert result.processor == "colon"
    assert result.values == {"priority": "Highest"}
    assert result.cleaned_body == "Order no. 5"


@pytest.mark.parametrize("body", ["", "\n\n", "just text", "@", "@=x", "key:", ": value"])
def test_degenerate_bodies(body: str) -> None:
    result = extract_directives(make(), "", body, None)
    assert result.values == {} and result.cleaned_body == body
