"""The Jira backend under load: call slots bound the requests in flight across threads and processes, Jira's
rate-limit answers pause the process's calls (briefly) or release the message with a retry time, and the fake's
rate limit, 429 storm and outage behave as the end-to-end tests and bench/jira.py expect."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from jemh.models import Instance
from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.test_jira_contract import jira_instance
from trackers import errors
from trackers.interface import NewIssue
from trackers.jira import client_for, tracker_for
from trackers.jira.client import CLOUD, DATA_CENTER, Credentials, JiraClient, endpoint_of
from trackers.jira.concurrency import LOCK_SPACE, CallSlots
from trackers.jira.errors import JiraTemporaryError


@pytest.fixture()
def fake() -> Iterator[FakeJira]:
    with running("cloud") as fake:
        lead = fake.state.add_user("lena", "lena@example.org", "Lena Lead")
        fake.state.add_project("ABC", "Acme", lead.account_id)
        yield fake


def _client(fake: FakeJira, slots: CallSlots | None = None) -> JiraClient:
    return JiraClient(
        fake.base_url, Credentials(CLOUD, email=FakeJira.EMAIL, api_token=FakeJira.API_TOKEN), slots=slots
    )


# -- call slots ----------------------------------------------------------------------------------------------------


def _peak_in_flight(slots: CallSlots, threads: int, hold: float = 0.05) -> int:
    lock, current, peak = threading.Lock(), [0], [0]

    def call(_: int) -> None:
        with slots.slot():
            with lock:
                current[0] += 1
                peak[0] = max(peak[0], current[0])
            time.sleep(hold)
            with lock:
                current[0] -= 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(call, range(threads * 3)))
    return peak[0]


@pytest.mark.django_db(transaction=True)
def test_call_slots_keep_at_most_the_bound_in_flight_across_threads() -> None:
    slots = CallSlots(7001, 3)
    assert _peak_in_flight(slots, threads=8) == 3
    assert slots.peak == 3


@pytest.mark.django_db(transaction=True)
def test_two_slot_sets_of_one_instance_in_a_process_share_the_bound() -> None:
    """Regression: a PostgreSQL session's advisory locks stack, so two clients of one instance in a process (new
    credentials make a new client) could both have held slot 0."""
    first, second = CallSlots(7002, 2), CallSlots(7002, 2)
    with first.slot(), second.slot():
        second.max_wait = 0.2
        with pytest.raises(JiraTemporaryError, match="call slots") as caught, first.slot():
            pass
    assert caught.value.throttled and caught.value.retry_after


@pytest.mark.django_db(transaction=True)
def test_slots_held_by_another_process_are_not_taken(settings: object, tmp_path: Path) -> None:
    """Another process holds both slots of the instance (advisory locks on PostgreSQL, flock files on SQLite): a
    call here waits and then gives up with a throttled temporary error; once it lets go, calls go through."""
    instance_id = 7003
    if connection.vendor == "postgresql":
        params = connection.get_connection_params()
        dsn = " ".join(f"{k}={params[k]}" for k in ("host", "port", "dbname", "user") if params.get(k))
        if params.get("password"):
            dsn += f" password={params['password']}"
        holder = f"""
            import psycopg, sys, time
            conn = psycopg.connect({dsn!r}, autocommit=True)
            for slot in (0, 1):
                conn.execute("SELECT pg_advisory_lock(%s, %s)", ({LOCK_SPACE + instance_id}, slot))
            print("held", flush=True)
            sys.stdin.readline()
        """
    else:
        folder = Path(settings.VAR_DIR) / "locks"  # type: ignore[attr-defined]
        folder.mkdir(parents=True, exist_ok=True)
        holder = f"""
            import fcntl, os, sys
            fds = [os.open(os.path.join({str(folder)!r}, f"jira-{instance_id}-{{n}}.lock"), os.O_RDWR | os.O_CREAT)
                   for n in (0, 1)]
            for fd in fds:
                fcntl.flock(fd, fcntl.LOCK_EX)
            print("held", flush=True)
            sys.stdin.readline()
        """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(holder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        slots = CallSlots(instance_id, 2)
        slots.max_wait = 0.5
        started = time.monotonic()
        with pytest.raises(JiraTemporaryError, match="stayed busy") as caught, slots.slot():
            pass
        assert caught.value.throttled and time.monotonic() - started >= 0.5
    finally:
        assert process.stdin is not None
        process.stdin.write("\n")
        process.stdin.flush()
        process.wait(timeout=10)
    with slots.slot() as taken:
        assert taken in (0, 1)


@pytest.mark.django_db(transaction=True)
def test_the_instance_bound_limits_requests_in_flight_to_jira(fake: FakeJira) -> None:
    instance = jira_instance(fake)
    Instance.objects.filter(pk=instance.pk).update(jira_max_concurrency=2)
    instance.refresh_from_db()
    client = client_for(instance)
    assert client.slots is not None and client.slots.size == 2
    fake.latency = 0.05
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: client.get("serverInfo"), range(12)))
    assert fake.count("getServerInfo") == 12 and client.slots.peak == 2
    assert fake.peak_in_flight == 2


# -- rate-limit answers --------------------------------------------------------------------------------------------


def _held_back(client: JiraClient, refused: str, other: str) -> float:
    """How long a call to ``other`` (started while a refused call to ``refused`` waits out its 1 s Retry-After)
    took."""
    times: list[float] = []

    def call_other() -> None:
        time.sleep(0.2)  # starts while the first call waits out its Retry-After
        began = time.monotonic()
        client.get(other)
        times.append(time.monotonic() - began)

    thread = threading.Thread(target=call_other)
    thread.start()
    started = time.monotonic()
    client.get(refused)  # refused, waits out the Retry-After, answered
    assert time.monotonic() - started >= 1.0
    thread.join()
    return times[0]


def test_an_unscoped_429_pauses_every_thread_of_the_process_not_only_the_refused_call() -> None:
    with running("datacenter") as fake:  # Data Center's token bucket names no scope: it holds every call
        client = JiraClient(fake.base_url, Credentials(DATA_CENTER, pat=FakeJira.PAT))
        fake.inject("getServerInfo", status=429, retry_after=1)
        assert _held_back(client, "serverInfo", "myself") >= 0.6  # held back, without a refusal of its own
        assert fake.count("getCurrentUser") == 1 and fake.refused_calls["getCurrentUser"] == 0


def test_a_burst_limit_pauses_only_calls_to_the_same_endpoint(fake: FakeJira) -> None:
    client = _client(fake)
    fake.inject("getServerInfo", status=429, retry_after=1)  # Cloud: RateLimit-Reason: jira-burst-based
    assert _held_back(client, "serverInfo", "myself") < 0.5  # another endpoint: Jira counts it apart
    fake.inject("getServerInfo", status=429, retry_after=1)
    assert _held_back(client, "serverInfo", "serverInfo") >= 0.6  # the same endpoint waits with the refused call
    assert fake.count("getServerInfo") == 5  # two refused, their two retries, and the held call once


def test_an_endpoint_is_its_method_and_path_template() -> None:
    assert endpoint_of("POST", "issue/ABC-12/comment") == endpoint_of("POST", "issue/10001/comment")
    assert endpoint_of("POST", "issue/ABC-12/comment") == "POST issue/{}/comment"
    assert endpoint_of("GET", "issue/ABC-12/comment") != endpoint_of("POST", "issue/ABC-12/comment")
    assert endpoint_of("PUT", "issue/ABC-1/properties/jemh.key") == "PUT issue/{}/properties/{}"
    assert endpoint_of("GET", "project/ABC") == "GET project/{}"
    assert endpoint_of("GET", "serverInfo?x=1") == "GET serverInfo"
    assert endpoint_of("GET", "/rest/api/3/search/jql") == "GET rest/api/{}/search/jql"


def test_a_per_issue_rate_limit_does_not_pause_other_calls(fake: FakeJira) -> None:
    client = _client(fake)
    fake.inject("getServerInfo", status=429, retry_after=1, headers={"RateLimit-Reason": "jira-per-issue-on-write"})
    done: list[float] = []

    def other() -> None:
        time.sleep(0.2)
        began = time.monotonic()
        client.get("myself")
        done.append(time.monotonic() - began)

    thread = threading.Thread(target=other)
    thread.start()
    client.get("serverInfo")
    thread.join()
    assert done and done[0] < 0.5


def test_an_exhausted_window_on_a_success_pauses_until_it_resets() -> None:
    calls: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        headers = {"X-RateLimit-Remaining": "0", "Retry-After": "1"} if len(calls) == 1 else {}
        return httpx.Response(200, json={}, headers=headers)

    client = JiraClient(
        "https://jira.example", Credentials(CLOUD, "a@b.example", "t"), transport=httpx.MockTransport(answer)
    )
    client.get("serverInfo")
    client.get("serverInfo")
    assert calls[1] - calls[0] >= 1.0


def test_a_long_retry_after_releases_the_message_as_a_throttled_refusal(db: None, fake: FakeJira) -> None:
    tracker = tracker_for(jira_instance(fake))
    tracker.get_project("ABC")
    fake.inject("createIssue", status=429, retry_after=90)
    with pytest.raises(errors.TemporaryTrackerError) as caught:
        tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:9")
    assert caught.value.throttled and caught.value.retry_after and 90 <= caught.value.retry_after <= 110


# -- the fake's load controls ----------------------------------------------------------------------------------------


def test_the_fakes_rate_limit_refuses_beyond_its_rate_with_retry_after(fake: FakeJira) -> None:
    fake.limit_rate(5)
    raw = httpx.Client(base_url=fake.base_url, auth=(FakeJira.EMAIL, FakeJira.API_TOKEN))
    statuses = [raw.get("/rest/api/3/serverInfo") for _ in range(8)]
    assert 5 <= [r.status_code for r in statuses].count(200) <= 6  # one second's worth (+ what refilled meanwhile)
    refused = next(r for r in statuses if r.status_code == 429)
    assert refused.headers["Retry-After"] == "1" and refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    time.sleep(0.45)
    assert raw.get("/rest/api/3/serverInfo").status_code == 200  # refilled at 5 per second


def test_the_fakes_storm_refuses_half_of_all_calls_and_then_ends(fake: FakeJira) -> None:
    fake.storm(3.0)  # long enough for ten calls on a loaded machine (0.5 s was not, once, under the full suite)
    started = time.monotonic()
    raw = httpx.Client(base_url=fake.base_url, auth=(FakeJira.EMAIL, FakeJira.API_TOKEN))
    during = [raw.get("/rest/api/3/serverInfo").status_code for _ in range(10)]
    assert time.monotonic() - started < 3.0, "the ten calls did not fit in the storm"
    assert during.count(429) == 5
    time.sleep(max(0.0, 3.1 - (time.monotonic() - started)))
    assert {raw.get("/rest/api/3/serverInfo").status_code for _ in range(4)} == {200}


def test_the_fakes_outage_answers_503_or_drops_the_connection(fake: FakeJira) -> None:
    client = _client(fake)
    client.max_retries = 0
    fake.outage(0.4)
    with pytest.raises(JiraTemporaryError, match="failing \\(503\\)"):
        client.request("POST", "search/jql", json={"jql": "project = ABC"})
    time.sleep(0.5)
    fake.outage(0.4, how="drop")
    with pytest.raises(JiraTemporaryError, match="did not answer"):
        client.request("POST", "issue", json={})
    time.sleep(0.5)
    assert client.get("serverInfo")["deploymentType"] == "Cloud"


def test_the_fakes_background_checks_find_what_inline_checks_find(fake: FakeJira) -> None:
    """bench/jira.py's mode: every call is answered at once and checked afterwards by a nice-19 process; a request
    that breaks the spec gets its normal answer, and the finding is reported when the checks catch up."""
    fake.validate_in_background()
    raw = httpx.Client(base_url=fake.base_url, auth=(FakeJira.EMAIL, FakeJira.API_TOKEN))
    assert raw.get("/rest/api/3/serverInfo").status_code == 200
    broken = raw.get("/rest/api/3/user/search", params={"query": "x", "maxResults": "many"})
    assert broken.status_code == 400 and "fake Jira" not in broken.text  # inline, the fake's 400 names the violation
    assert fake.violations == []  # not checked yet: the answer did not wait for it
    assert fake.finish_validation() == 2
    assert len(fake.violations) == 1 and "findUsers" in fake.violations[0] and "breaks the spec" in fake.violations[0]
    fake.violations.clear()  # seen: the fixture would otherwise fail this test


# -- calls a reply costs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kept_seconds", [0, 300])
def test_an_issue_read_says_its_comment_count_and_serves_the_attachment_look_up(
    db: None, fake: FakeJira, settings: Any, kept_seconds: int
) -> None:
    from trackers.interface import AttachmentUpload, NewComment

    settings.JEMH_JIRA_ISSUE_STATE_SECONDS = kept_seconds  # without and with the shared issue-state cache
    tracker = tracker_for(jira_instance(fake))
    created = tracker.create_issue(NewIssue("ABC", "Printer on fire"))
    assert created.comment_count == 0
    tracker.add_comment(created.key, NewComment("from mail", author_email="c@customer.example", source_message_id=3))
    issue = tracker.find_issue(created.key)
    assert issue is not None and issue.comment_count == 1
    reads = fake.count("getIssue")
    assert tracker.attachment_hashes(created.key) == frozenset()  # from the issue just read: no call
    assert fake.count("getIssue") == reads
    tracker.add_attachments(created.key, [AttachmentUpload("a.txt", "text/plain", data=b"a")])
    assert len(tracker.attachment_hashes(created.key)) == 1
    if kept_seconds:  # the kept list takes the upload from Jira's answer (under the row's lock): no read
        assert fake.count("getIssue") == reads
    else:  # its own upload made the list stale: read again
        assert fake.count("getIssue") == reads + 1


@pytest.mark.django_db(transaction=True)
def test_a_call_finds_the_one_free_slot_among_those_another_session_holds() -> None:
    """The first free slot of the candidates is taken in one statement (trackers 0005's function); tried one by one,
    a call cost a round trip per busy slot while the other worker held most of them."""
    from django.db import DEFAULT_DB_ALIAS, connections

    instance_id = 7004
    if connection.vendor != "postgresql":
        slots = CallSlots(instance_id, 3)
        with slots.slot() as first, slots.slot() as second, slots.slot() as third:
            assert {first, second, third} == {0, 1, 2}
        return
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            for slot in (0, 2, 3):
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE + instance_id, slot])
        slots = CallSlots(instance_id, 4)
        with slots.slot() as taken:
            assert taken == 1
            slots.max_wait = 0.2
            with pytest.raises(JiraTemporaryError, match="stayed busy"), slots.slot():
                pass
    finally:
        other.close()
