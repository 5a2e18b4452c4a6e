"""Fixtures of the audit tests: the pipeline tests' instance, local-tracker projects and profile, a pipe source
using that profile, and a helper that captures raw mail through it and processes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import process_inbound
from profiles.models import Profile
from tests.pipeline import conftest as pipeline

# The pipeline tests' fixtures, shared.
agents, instance, our_domain, profile, projects = (
    pipeline.agents,
    pipeline.instance,
    pipeline.our_domain,
    pipeline.profile,
    pipeline.projects,
)


@pytest.fixture()
def pipe(instance: Any, profile: Profile) -> Source:
    return Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE, profile=profile)


@pytest.fixture()
def deliver(pipe: Source) -> Callable[..., InboundMessage]:
    """Capture raw mail through the pipe source and process it; returns the audit row."""

    def run(raw: bytes) -> InboundMessage:
        message = capture(pipe, raw).message
        assert message is not None
        process_inbound(message.pk)
        message.refresh_from_db()
        return message

    return run
