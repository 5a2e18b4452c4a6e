"""The configuration snapshot: every section of the profile, resolved for the pipeline."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from profiles.models import CatchAddress, Profile
from profiles.services import load_profile_config
from tests.profiles.conftest import LOGO_SHA256, make_profile


def test_snapshot_holds_every_section(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    assert config.name == "Support" and config.instance_id == rich_profile.instance_id and config.enabled
    assert config.forward_to == ("admin@example.com", "ops@example.com")
    assert config.reply_address == "support@example.com"
    assert config.content.comment_reply_text_only and config.content.body_to_markdown
    assert config.filters.own_mail_action == "drop" and config.filters.flood_limit_per_hour == 60
    assert len(config.filters.rules) == 4
    assert config.rejection.resolved_reject_after_days == 30 and config.rejection.participants_only
    assert config.limits.max_comments_per_issue == 50 and config.limits.body_too_large_action == "truncate"
    assert config.directives.processors == ("at_prefix", "subject_hash", "colon", "headers", "regex")
    assert config.directives.block_list == ("reporter",)
    assert len(config.directives.aliases) == 3 and len(config.directives.field_processors) == 1
    assert config.attachments.known_fingerprints == frozenset({LOGO_SHA256})


def test_association_order_and_switches(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    # the configured order first, then the rest in the standard order
    assert config.association.strategies == (
        "subject_key",
        "directive",
        "foreign_key",
        "own_message_id",
        "thread_headers",
    )
    Profile.objects.filter(pk=rich_profile.pk).update(associate_by_directive=False, associate_by_thread_headers=False)
    config = load_profile_config(rich_profile.pk)
    assert config.association.strategies == ("subject_key", "foreign_key", "own_message_id")


def test_subject_key_and_foreign_key_patterns(rich_profile) -> None:
    association = load_profile_config(rich_profile.pk).association
    assert association.subject_issue_keys("Re: [SUP-12] printer (see ABC_2-7)") == ("SUP-12", "ABC_2-7")
    assert association.subject_issue_keys("utf-8 and sup-12 are not keys") == ()
    assert association.foreign_key("Re: [case-4711] broken") == "4711"
    assert association.foreign_key("nothing here") is None


def test_hints_defaults_overrides_and_switches(rich_profile) -> None:
    hints = load_profile_config(rich_profile.pk).hints
    custom = hints.for_reason("resolved_too_long")
    assert custom is not None
    assert custom.render(issue_key="SUP-3", subject="Hi")[1] == "Sorry, SUP-3 is closed."
    assert custom.render(subject="Printer")[0] == "Re: Printer"  # default subject kept
    assert hints.for_reason("not_participant") is None  # switched off
    default = hints.for_reason("comment_only_no_match")
    assert default is not None and "Hello" in default.text and "{" not in default.render()[1]
    Profile.objects.filter(pk=rich_profile.pk).update(send_hints=False)
    assert load_profile_config(rich_profile.pk).hints.for_reason("comment_only_no_match") is None


def test_hint_rendering_leaves_unknown_braces() -> None:
    from profiles.hints import render_hint

    assert render_hint("{issue_key} {unknown} {days}", {"issue_key": "A-1"}) == "A-1 {unknown} {days}"


def test_attachment_exclusions(rich_profile) -> None:
    attachments = load_profile_config(rich_profile.pk).attachments
    assert attachments.drop_duplicates and attachments.keep_inline_images
    assert attachments.exclusion_reason("logo.png", "image/png", 50_000, LOGO_SHA256.upper()) == "known fingerprint"
    assert attachments.exclusion_reason("dot.gif", "image/gif", 900, "b" * 64) == "small image"
    assert attachments.exclusion_reason("photo.jpg", "image/jpeg", 2_000_000, "b" * 64) is None
    assert attachments.exclusion_reason("setup.EXE", "application/octet-stream", 10, "c" * 64) == "executable"
    assert attachments.exclusion_reason("report.pdf", "application/pdf", 100, "d" * 64) is None


def test_workflow_advance(rich_profile) -> None:
    config = load_profile_config(rich_profile.pk)
    assert config.workflow_target("waiting for customer") == "In Progress"
    assert config.workflow_target("Resolved") == "Open"
    assert config.workflow_target("Open") is None


def test_profile_validation(instance) -> None:
    profile = make_profile(instance, forward_to="")
    profile.bulk_action = "forward"
    profile.associate_by_foreign_key = True
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    assert set(caught.value.message_dict) >= {"bulk_action", "foreign_key_pattern"}
    profile.bulk_action, profile.foreign_key_pattern = "drop", "CASE-\\d+"
    with pytest.raises(ValidationError, match="needs a group"):
        profile.full_clean()
    profile.association_order = "directive,nonsense"
    with pytest.raises(ValidationError, match="unknown strategies nonsense"):
        profile.full_clean()


def test_catch_address_validation(instance) -> None:
    profile = make_profile(instance)
    with pytest.raises(ValidationError, match="full address"):
        CatchAddress(profile=profile, address="support").full_clean()
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        CatchAddress(profile=profile, address="support(@", is_regex=True).full_clean()


def test_instance_own_addresses(rich_profile) -> None:
    from jemh.models import Instance
    from profiles.services import instance_own_addresses

    make_profile(rich_profile.instance, name="Billing", reply_address="Billing+x@Example.com")
    make_profile(Instance.objects.create(name="Elsewhere"), reply_address="other@example.net")
    own = instance_own_addresses(rich_profile.instance_id)
    assert own.literals == {"support@example.com", "billing@example.com"}
    assert own.patterns == (r"help-[a-z]+@example\.(com|org)",)
