"""The audit tests' fixtures (an instance, local-tracker projects, a profile, a pipe source, ``deliver``)."""

from tests.auditing.conftest import agents, deliver, instance, our_domain, pipe, profile, projects

__all__ = ["agents", "deliver", "instance", "our_domain", "pipe", "profile", "projects"]
