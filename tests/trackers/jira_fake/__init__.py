"""The fake Jira of the tests: a real HTTP server on loopback, checked against Atlassian's OpenAPI descriptions."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.trackers.jira_fake.server import FakeJira, Fault
from tests.trackers.jira_fake.spec import SpecViolation

__all__ = ["FakeJira", "Fault", "SpecViolation", "running"]


@contextmanager
def running(flavour: str) -> Iterator[FakeJira]:
    """A started fake Jira of ``flavour`` ("cloud" or "datacenter"), stopped afterwards; the test fails if any request
    or response broke Atlassian's spec."""
    fake = FakeJira(flavour).start()
    try:
        yield fake
    finally:
        fake.stop()
    if fake.violations:
        pytest.fail("the fake Jira saw spec violations:\n" + "\n".join(fake.violations), pytrace=False)
