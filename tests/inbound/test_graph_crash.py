"""Crash injection for Microsoft Graph sources: a poll killed (SIGKILL, or os._exit) right after its blobs were
stored, or right after a chunk of audit rows was committed and before Graph was told (mark read), then a normal poll:
every message of the folder has exactly one audit row and one receipt, and all are marked read."""

from __future__ import annotations

import pytest

from tests.inbound.conftest import Worker, make_message
from tests.inbound.fake_graph import CLIENT_ID, CLIENT_SECRET, MAILBOX, TENANT, FakeGraph, FakeIdentity
from tests.inbound.test_crash import KILLED, assert_exactly_once, poll


@pytest.mark.parametrize(
    ("crash_at", "how"),
    [
        ("recorded:1", "kill"),  # the first chunk's audit rows committed, Graph not told
        ("stored:4", "exit"),  # the first chunk recorded and told, the second's blobs stored only
    ],
)
def test_graph_poll_killed_then_polled_again_captures_each_message_once(
    worker: Worker, microsoft: tuple[FakeIdentity, FakeGraph], crash_at: str, how: str
) -> None:
    identity, graph = microsoft
    env = {"JEMH_GRAPH_URL": graph.url, "REQUESTS_CA_BUNDLE": identity.ca_file}
    messages = [make_message(subject=f"Graph {crash_at} {i}", message_id=None if i == 2 else "auto") for i in range(5)]
    graph.deliver(MAILBOX, *messages)
    name = f"graph-{crash_at}-{how}"
    setup = ["setup", "graph", "--name", name, "--instance", name, "--graph-mailbox", MAILBOX, "--tenant", TENANT]
    setup += ["--issuer", identity.issuer, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    source_id = worker.call(*setup, extra_env=env)["source_id"]

    crashed = poll(worker, source_id, "--chunk", "3", "--crash-at", crash_at, "--how", how, env=env)
    assert crashed.returncode in KILLED, crashed.stderr.decode()
    recorded = len(worker.call("report", str(source_id), extra_env=env)["rows"])
    assert recorded == 3
    read = sum(m.is_read for m in graph.in_folder(MAILBOX))
    assert read == {"recorded:1": 0, "stored:4": 3}[crash_at]  # nothing told before it was recorded

    done = poll(worker, source_id, "--expire-lease", env=env)
    assert done.returncode == 0 and '"ok"' in done.stdout.decode(), done.stderr.decode() + done.stdout.decode()
    assert_exactly_once(worker, source_id, messages, env=env)
    assert all(m.is_read for m in graph.in_folder(MAILBOX))
    again = poll(worker, source_id, env=env)
    assert again.returncode == 0 and '"captured": 0' in again.stdout.decode()
    assert_exactly_once(worker, source_id, messages, env=env)
