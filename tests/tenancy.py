"""Tenancy in tests: a user sees only the rows of the instances they belong to (issue 14, point 8)."""

from __future__ import annotations

from typing import Any

from jemh.models import Instance


def member_of_every_instance(user: Any) -> Any:
    """Make ``user`` a member of every instance the test has made so far (tests of one instance work on it)."""
    for instance in Instance.objects.all():
        instance.members.add(user)
    return user
