"""The fake Jira of the tests: a real HTTP server on loopback, checked against Atlassian's OpenAPI descriptions."""

from tests.trackers.jira_fake.server import FakeJira, Fault
from tests.trackers.jira_fake.spec import SpecViolation

__all__ = ["FakeJira", "Fault", "SpecViolation"]
