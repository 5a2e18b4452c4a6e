"""Hostile structure: bounded time and memory (generous limits here; strict numbers in bench/mime.py)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest

from inbound.mime import ParsedMessage, parse
from tests.mime import samples

MB = 1024 * 1024


def measure(raw: bytes) -> tuple[ParsedMessage, float, int]:
    started = time.perf_counter()
    message = parse(raw)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        parse(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return message, elapsed, peak


@pytest.mark.parametrize(
    ("build", "note"),
    [
        (samples.big_subject, "header section truncated"),
        (samples.nested_parts, "MIME nesting deeper than"),
        (samples.many_parts, "MIME parts; the rest not decoded"),
        (samples.huge_headers, "header section truncated"),
    ],
)
def test_hostile_messages_are_capped(build: Callable[[], bytes], note: str) -> None:
    message, elapsed, peak = measure(build())
    assert note in (message.error or "")
    assert elapsed < 2.0  # generous on a loaded CI machine; bench/mime.py measures the 50 ms target
    assert peak < 60 * MB


def test_big_subject_is_decoded_up_to_the_cap() -> None:
    message = parse(samples.big_subject())
    assert message.subject.startswith("café bar") and len(message.subject) < 20_000


def test_large_attachment_memory() -> None:
    size = 25 * MB
    raw = samples.big_attachment(size)
    tracemalloc.start()
    try:
        message = parse(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.attachments[0].size == size // 256 * 256
    assert peak < 4 * size
