"""The fake Jira's OpenAPI checks in a process of its own at the lowest CPU priority.

(:meth:`FakeJira.validate_in_background`.)

A benchmark runs the fake on the machine that also runs the system it measures. Checking every call against
Atlassian's OpenAPI description costs the fake milliseconds of CPU per call, time real Jira spends on its own
servers, not ours. In the background every call is still checked, request and response, but by this process under
``nice 19``: it takes only CPU nothing else wants and catches up when the run is over (:meth:`Background.drain`).
What it finds is reported like a finding made at the time, except that a request breaking the spec has already had
its answer instead of a 400.

Records travel as pickles, each with a 4-byte big-endian length, over the child's stdin; an empty record (length 0)
ends the run, and the child answers with how many calls it checked and its findings, as one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.trackers.jira_fake import spec

#: (flavour, operation, method, path, query, headers, body, status, response body, response content type)
Record = tuple[str, str, str, str, list[tuple[str, str]], dict[str, str], bytes, int, bytes, str]
ROOT = Path(__file__).resolve().parents[3]


class Background:
    """The parent's side: :meth:`check` queues a call without waiting; :meth:`drain` waits for every finding."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from tests.trackers.jira_fake.validator import main; main()"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        #: unbounded, so that a server thread never waits for the low-priority child to read
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="fake-jira-validator-feed")
        self._feeder.start()

    def check(self, record: Record) -> None:
        self._queue.put(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))

    def _feed(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        while True:
            data = self._queue.get()
            if data is None:
                stdin.write(struct.pack(">I", 0))
                stdin.close()
                return
            stdin.write(struct.pack(">I", len(data)) + data)

    def drain(self, timeout: float = 600.0) -> tuple[int, list[str]]:
        """Wait until every queued call is checked: how many were, and the findings (spec violations) in the order
        of the calls."""
        self._queue.put(None)
        self._feeder.join(timeout)
        assert self._process.stdout is not None
        output = self._process.stdout.read()  # stdin is closed by the feeder: the child answers and exits
        self._process.wait(timeout)
        if self._process.returncode != 0:
            return 0, [f"the fake's background validator failed (exit {self._process.returncode})"]
        answer = json.loads(output)
        return int(answer["checked"]), [str(finding) for finding in answer["findings"]]


def findings(record: Record) -> list[str]:
    """What the spec says about one call: its request, then its response."""
    flavour, operation, method, path, query, headers, body, status, data, ctype = record
    found = []
    try:
        spec.check_request(flavour, operation, method, path, query, headers, body)
    except spec.SpecViolation as exc:
        found.append(str(exc))
    try:
        spec.check_response(flavour, operation, method, path, query, headers, body, status, data, ctype)
    except spec.SpecViolation as exc:
        found.append(str(exc))
    return found


def main() -> None:
    os.nice(19)  # only CPU that nothing else wants
    read = sys.stdin.buffer.read
    found: list[str] = []
    checked = 0
    while True:
        header = read(4)
        if len(header) < 4:
            break
        (size,) = struct.unpack(">I", header)
        if size == 0:
            break
        record: Any = pickle.loads(read(size))
        found.extend(findings(record))
        checked += 1
    sys.stdout.write(json.dumps({"checked": checked, "findings": found}))
    sys.stdout.flush()
