"""Fixtures of the profile tests: an instance and a profile using every kind of configuration."""

from __future__ import annotations

import pytest

from jemh.models import Instance
from profiles.models import (
    AttachmentExclusion,
    CatchAddress,
    DirectiveAlias,
    FieldProcessor,
    FilterRule,
    Hint,
    KnownFingerprint,
    MappingRule,
    Profile,
    ProjectMapping,
    TestCase,
    WorkflowAdvanceRule,
)

LOGO_SHA256 = "a" * 64

DEFAULT_MAPPING = {
    "name": "Default",
    "is_default": True,
    "project_key": "SUP",
    "issue_type": "Task",
    "priority": "Medium",
    "default_summary": "(no subject)",
    "reporter_strategy": "sender",
    "default_reporter": "helpdesk",
    "assignee_strategy": "unassigned",
    "operating_mode": "create_and_comment",
    "unknown_sender_action": "email_only",
    "addressee_handling": "participants",
    "subject_cleanups": r"^\[EXTERNAL\]\s*",
    "body_cleanups": r"\d{4}-\d{4}-\d{4}-\d{4}",
    "body_delimiters": "^-- $\n^Sent from my",
}


@pytest.fixture()
def instance(db) -> Instance:
    return Instance.objects.create(name="Acme")


def make_profile(instance: Instance, name: str = "Support", **overrides: object) -> Profile:
    """A saved profile with a default mapping only."""
    values = {"reply_address": "support@example.com", "forward_to": "admin@example.com\nops@example.com", **overrides}
    profile = Profile.objects.create(instance=instance, name=name, **values)
    ProjectMapping.objects.create(profile=profile, **DEFAULT_MAPPING)
    return profile


@pytest.fixture()
def rich_profile(instance: Instance) -> Profile:
    """A profile using every kind of configuration (saved through full_clean, as the admin would)."""
    profile = make_profile(
        instance,
        associate_by_foreign_key=True,
        foreign_key_pattern=r"\[CASE-(\d+)\]",
        foreign_key_field="Case",
        resolved_reject_after_days=30,
        participants_only=True,
        processor_colon=True,
        directive_block_list="reporter",
        association_order="subject_key,directive,foreign_key",
    )
    profile.full_clean()
    children = [
        CatchAddress(profile=profile, address="support@example.com"),
        CatchAddress(profile=profile, address=r"help-[a-z]+@example\.(com|org)", is_regex=True),
        Hint(profile=profile, reason="resolved_too_long", text="Sorry, {issue_key} is closed."),
        Hint(profile=profile, reason="not_participant", enabled=False),
        FilterRule(profile=profile, kind="header", header_name="X-Mailer", pattern="MassMailer", action="drop"),
        FilterRule(profile=profile, kind="subject_block", pattern="^Out of Office", action="leave"),
        FilterRule(profile=profile, kind="sender_exclude", pattern=r"spammer\.example"),
        FilterRule(profile=profile, kind="sender_include", pattern=r"boss@spammer\.example"),
        DirectiveAlias(profile=profile, kind="key_value", alias="bug", directive="issueType", value="Bug"),
        DirectiveAlias(profile=profile, kind="key", alias="type", directive="issueType"),
        DirectiveAlias(profile=profile, kind="value", alias="urgent", directive="priority", value="Highest"),
        FieldProcessor(
            profile=profile,
            name="order number",
            target="body",
            pattern=r"Order no\.\s*(\d+)",
            directive="customfield_10001",
        ),
        AttachmentExclusion(profile=profile, content_type_pattern="image/.*", max_size=10_240, reason="small image"),
        AttachmentExclusion(profile=profile, filename_pattern=r"\.exe$", reason="executable"),
        KnownFingerprint(profile=profile, sha256=LOGO_SHA256, note="company logo"),
        WorkflowAdvanceRule(profile=profile, from_status="Waiting for Customer", to_status="In Progress"),
        WorkflowAdvanceRule(profile=profile, from_status="Resolved", to_status="Open"),
        TestCase(
            profile=profile, name="new request", raw_message="From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
        ),
    ]
    for child in children:
        child.full_clean()
        child.save()
    sales = ProjectMapping(profile=profile, name="Sales", project_key="SAL", operating_mode="create_only")
    sales.full_clean()
    sales.save()
    MappingRule.objects.create(mapping=sales, kind="subaddress", pattern="sales", priority=10)
    MappingRule.objects.create(mapping=sales, kind="sender", pattern=r"customer\.example", priority=50)
    vip = ProjectMapping(profile=profile, name="VIP", priority="Highest", body_delimiters="(none)")
    vip.full_clean()
    vip.save()
    MappingRule.objects.create(mapping=vip, kind="header", header_name="X-Customer-Tier", pattern="^gold$", priority=20)
    MappingRule.objects.create(mapping=vip, kind="subject", pattern=r"\bVIP\b", priority=30)
    MappingRule.objects.create(mapping=vip, kind="recipient", pattern=r"vip@example\.com", priority=40)
    return profile
