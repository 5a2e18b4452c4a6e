"""Per-corpus pass rates of the golden conformance tests, printed at the end of the run."""

from __future__ import annotations

from collections import defaultdict

import pytest

RESULTS: dict[str, list[bool]] = defaultdict(list)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("mime_reply golden pass rates")
    for corpus, outcomes in sorted(RESULTS.items()):
        passed = sum(outcomes)
        rate = 100.0 * passed / len(outcomes)
        terminalreporter.write_line(f"{corpus:28s} {passed:3d}/{len(outcomes):3d}  {rate:5.1f}%")
