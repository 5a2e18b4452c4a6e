"""Models of profiles: Profile, ProjectMapping (+ rules, inheritance from the default mapping), catch addresses,
filters, directives/aliases, attachment exclusions, workflow advance, test cases."""

from profiles.models.mappings import MappingRule, ProjectMapping
from profiles.models.profile import CatchAddress, Hint, Profile
from profiles.models.rules import (
    AttachmentExclusion,
    DirectiveAlias,
    FieldProcessor,
    FilterRule,
    KnownFingerprint,
    WorkflowAdvanceRule,
)
from profiles.models.testcases import TestCase

__all__ = [
    "AttachmentExclusion",
    "CatchAddress",
    "DirectiveAlias",
    "FieldProcessor",
    "FilterRule",
    "Hint",
    "KnownFingerprint",
    "MappingRule",
    "Profile",
    "ProjectMapping",
    "TestCase",
    "WorkflowAdvanceRule",
]
