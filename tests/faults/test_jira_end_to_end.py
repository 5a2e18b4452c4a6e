"""End to end into Jira: mail in a real Dovecot mailbox is captured and processed by real prefork Celery workers
(Redis broker, a shared PostgreSQL database) into the fake Jira, Cloud and Data Center; the fake checks every request
and answer against Atlassian's OpenAPI description.

New mail becomes an issue with the right fields (reporter, e-mail-only sender fields, participants, directives);
a reply becomes a comment and advances the workflow; attachments are uploaded; a 429 storm (half of all calls
refused, the "minute" scaled down to seconds) and a Jira outage (scaled down too) end with every message processed
exactly once: the fake holds one issue per request and one comment per reply, each from its own message.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import Cluster
from tests.inbound.conftest import ROOT, Mailbox
from tests.pipeline.conftest import mail as pipeline_mail
from tests.trackers.jira_fake import FakeJira
from tests.trackers.jira_fake.state import EMAIL_FIELDS, now

pytestmark = [pytest.mark.faults, pytest.mark.services]

SUPPORT = "support@support.example.com"
# scaled down for tests: a failed message is retried after 1 s (doubling; 30 s by default), and a reply waits for its
# request's first attempt at most 10 s (120 s by default; Jira's 1 s Retry-After in a storm is not scaled down)
SCALED = {"JEMH_RETRY_BASE_SECONDS": "1", "JEMH_THREAD_WAIT_SECONDS": "10"}


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    fake = FakeJira(request.param).start()
    lead = fake.state.add_user("lena", "lena@support.example.com", "Lena Lead")
    fake.state.add_user("helpdesk", "helpdesk@support.example.com", "Help Desk")
    fake.state.add_user("alice", "alice@customer.example", "Alice Agent")
    fake.state.add_project("SUP", "Support", lead.account_id)
    yield fake
    fake.stop()
    if fake.violations:
        pytest.fail("the fake Jira saw spec violations:\n" + "\n".join(fake.violations[:10]), pytrace=False)


def mail(**parts: Any) -> bytes:
    """Mail as our MTA delivers it: with its Authentication-Results verdict, which the test's source trusts."""
    return pipeline_mail(authenticated=True, **parts)


class Site:
    """The test's instance on the workers' database, its Dovecot source and the helper commands."""

    def __init__(self, cluster: Cluster, fake: FakeJira, mailbox: Mailbox) -> None:
        self.cluster, self.fake, self.mailbox = cluster, fake, mailbox
        helpdesk = next(u for u in fake.state.users.values() if u.name == "helpdesk")
        made = self.call(
            "setup",
            fake.base_url,
            fake.flavour,
            helpdesk.account_id,
            mailbox.host,
            str(mailbox.imap_port),
            mailbox.username,
            mailbox.password,
        )
        self.instance_id, self.source_id = int(made["instance_id"]), int(made["source_id"])

    def call(self, *args: str) -> Any:
        done = self.cluster.db.run("-m", "tests.faults.jira_helper", *args, extra_env=self.cluster.env)
        assert done.returncode == 0, f"helper {args[0]} failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}"
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    def deliver(self, *messages: bytes) -> None:
        self.mailbox.append(*messages)
        polled = self.call("poll", str(self.source_id))
        assert polled["status"] == "ok", polled

    def rows(self) -> list[dict[str, Any]]:
        return list(self.call("report", str(self.instance_id))["rows"])

    def wait_until_final(self, count: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows()
            if len(rows) >= count and all(r["status"] in ("processed", "error") for r in rows):
                return rows
            if time.monotonic() > deadline:
                logs = "\n".join(self.cluster.log(f"faults{n}") for n in range(len(self.cluster.workers)))
                pytest.fail(f"not final within {timeout} s: {json.dumps(rows)[:3000]}\n{logs}")
            time.sleep(0.5)

    def issue(self, key: str) -> Any:
        found = self.fake.state.issue(key)
        assert found is not None, key
        return found

    def field(self, issue: Any, name: str) -> Any:
        field_id = next(f.id for f in self.fake.state.fields if f.name == name)
        return issue.fields.get(field_id)


@pytest.fixture()
def site(cluster: Cluster, fake: FakeJira, mailbox: Mailbox) -> Site:
    cluster.env.update(SCALED)
    return Site(cluster, fake, mailbox)


def _text(value: Any) -> str:
    """Plain text of an ADF document (Cloud) or wiki markup (Data Center)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("text", "")) + "".join(_text(child) for child in value.get("content") or [])
    if isinstance(value, list):
        return "".join(_text(child) for child in value)
    return ""


def _exactly_once(fake: FakeJira, requests: int, replies: int) -> None:
    """One issue per request and one comment per reply, each made from its own message (its source id)."""
    issues = list(fake.state.issues.values())
    issue_sources = Counter((i.properties.get("jemh") or {}).get("sourceMessageId") for i in issues)
    comment_sources = Counter(
        (c.properties.get("jemh") or {}).get("sourceMessageId") for i in issues for c in i.comments
    )
    assert len(issues) == requests, f"{len(issues)} issues for {requests} requests"
    assert sum(comment_sources.values()) == replies, f"{sum(comment_sources.values())} comments for {replies}"
    assert all(n == 1 for n in issue_sources.values()) and None not in issue_sources, issue_sources
    assert all(n == 1 for n in comment_sources.values()) and None not in comment_sources, comment_sources
    assert not set(issue_sources) & set(comment_sources)


def test_mail_becomes_issues_and_comments_in_jira(site: Site, fake: FakeJira, cluster: Cluster) -> None:
    cluster.start_worker()
    unknown = mail(
        subject="Printer on fire",
        body="@priority=High\n@labels=printer,urgent\nThe printer on floor 3 is on fire.",
        sender="Carol Customer <carol@customer.example>",
        cc="Dave Colleague <dave@customer.example>",
        message_id="<request-1@customer.example>",
    )
    known = mail(
        subject="VPN drops",
        body="The VPN drops every ten minutes.",
        sender="Alice Agent <alice@customer.example>",
        attachments=[
            ("vpn.log", "text/plain", b"drop at 10:00\ndrop at 10:10\n"),
            ("shot.png", "image/png", b"\x89PNG"),
        ],
        message_id="<request-2@customer.example>",
    )
    site.deliver(unknown, known)
    rows = site.wait_until_final(2, 90)
    assert [r["outcome"] for r in rows] == ["created", "created"], rows
    first, second = (site.issue(r["issue_key"]) for r in rows)

    # the unknown sender: e-mail-only fields, the default reporter, the Cc a participant, the directives applied
    assert first.fields["summary"] == "Printer on fire"
    helpdesk = next(u for u in fake.state.users.values() if u.name == "helpdesk")
    assert first.fields["reporter"] == helpdesk.account_id
    assert site.field(first, "Email Sender Address") == "carol@customer.example"
    assert site.field(first, "Email Sender Name") == "Carol Customer"
    assert "dave@customer.example" in _text(site.field(first, "Email Participants"))
    assert first.fields["priority"] == "High" and set(first.fields["labels"]) == {"printer", "urgent"}
    description = _text(first.fields.get("description"))
    assert "on fire" in description and "@priority" not in description
    # the known sender is the reporter; both files in one upload
    alice = next(u for u in fake.state.users.values() if u.name == "alice")
    assert second.fields["reporter"] == alice.account_id and not site.field(second, "Email Sender Address")
    assert sorted(a.filename for a in second.attachments) == ["shot.png", "vpn.log"]
    assert fake.count("addAttachment") == 1

    # the first issue is resolved in Jira meanwhile: a reply comments on it and moves it back to Open
    with fake.state.lock:
        first.status, first.resolution, first.resolved = "Resolved", "Done", now()
    site.call("webhook", str(site.instance_id), first.key)  # Jira's webhook about it (the kept state is forgotten)
    reply = mail(
        subject="Re: Printer on fire",
        body="It is still smoking.\n\n> The printer on floor 3 is on fire.\n",
        sender="Carol Customer <carol@customer.example>",
        headers={"In-Reply-To": "<request-1@customer.example>", "References": "<request-1@customer.example>"},
        message_id="<reply-1@customer.example>",
    )
    reply_with_file = mail(
        subject="Re: VPN drops",
        body="Here is another log.",
        sender="Alice Agent <alice@customer.example>",
        attachments=[("vpn-2.log", "text/plain", b"drop at 11:00\n")],
        headers={"In-Reply-To": "<request-2@customer.example>"},
        message_id="<reply-2@customer.example>",
    )
    site.deliver(reply, reply_with_file)
    rows = site.wait_until_final(4, 90)
    assert [r["outcome"] for r in rows] == ["created", "created", "commented", "commented"], rows
    assert rows[2]["issue_key"] == first.key and rows[3]["issue_key"] == second.key
    assert "moved from Resolved to Open" in rows[2]["reason"]
    assert first.status == "Open"
    (comment,) = first.comments
    assert "still smoking" in _text(comment.body) and "floor 3" not in _text(comment.body)  # the reply text only
    assert (comment.properties.get("jemh") or {}).get("authorEmail") == "carol@customer.example"
    assert sorted(a.filename for a in second.attachments) == ["shot.png", "vpn-2.log", "vpn.log"]
    _exactly_once(fake, requests=2, replies=2)
    assert set(EMAIL_FIELDS) <= {f.name for f in fake.state.fields}


def _mailbox_of(requests: int, replies: int, tag: str) -> tuple[list[bytes], list[bytes]]:
    new = [
        mail(
            subject=f"{tag} request {n}",
            body=f"Request number {n}.",
            sender=f"Customer {n} <customer{n}@customer.example>",
            message_id=f"<{tag}-request-{n}@customer.example>",
        )
        for n in range(requests)
    ]
    answers = [
        mail(
            subject=f"Re: {tag} request {n}",
            body=f"More about request {n}.",
            sender=f"Customer {n} <customer{n}@customer.example>",
            headers={"In-Reply-To": f"<{tag}-request-{n}@customer.example>"},
            message_id=f"<{tag}-reply-{n}@customer.example>",
        )
        for n in range(replies)
    ]
    return new, answers


def _eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)


def test_a_429_storm_ends_with_every_message_processed_once(site: Site, fake: FakeJira, cluster: Cluster) -> None:
    cluster.start_worker()
    requests, replies = _mailbox_of(12, 8, "storm")
    fake.storm(8.0)  # half of all calls refused with Retry-After: 1 (the issue's "minute", scaled down)
    site.deliver(*requests)
    site.deliver(*replies)
    rows = site.wait_until_final(20, 120)
    outcomes = Counter(r["outcome"] for r in rows)
    assert outcomes == {"created": 12, "commented": 8}, rows
    assert fake.refused["storm"] > 0
    _exactly_once(fake, requests=12, replies=8)


def test_a_jira_outage_ends_with_every_message_processed_once(site: Site, fake: FakeJira, cluster: Cluster) -> None:
    cluster.start_worker()
    requests, replies = _mailbox_of(10, 6, "outage")
    site.deliver(*requests[:4])
    _eventually(lambda: len(fake.state.issues) >= 2, 60, "the first issues")
    fake.outage(6.0, how="503")  # Jira answers 503 without Retry-After (the issue's five minutes, scaled down)
    site.deliver(*requests[4:], *replies[:3])
    _eventually(lambda: fake.refused["outage"] > 0, 30, "a call refused by the outage")
    time.sleep(6.0)
    fake.outage(4.0, how="drop")  # then connections are dropped without an answer, also after a create committed
    fake.inject("createIssue", drop="after")
    site.deliver(*replies[3:])
    rows = site.wait_until_final(16, 180)
    outcomes = Counter(r["outcome"] for r in rows)
    assert outcomes == {"created": 10, "commented": 6}, rows
    assert max(r["attempts"] for r in rows) >= 2  # some messages failed during the outage and were retried
    _exactly_once(fake, requests=10, replies=6)


def start_threads_worker(cluster: Cluster, concurrency: int) -> subprocess.Popen[bytes]:
    """A worker with a threads pool (how Jira-bound processing is meant to run: README ``JEMH_PROCESSING_QUEUE``),
    on the cluster's broker and database, logged like the cluster's prefork workers."""
    name = f"faults{len(cluster.workers)}"
    log = cluster.logs / f"{name}.log"
    argv = [sys.executable, "-m", "tests.faults.worker", "--pool", "threads", "--concurrency", str(concurrency)]
    argv += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**cluster.db.env, **cluster.env},
        stdout=open(log, "wb"),  # noqa: SIM115 - lives as long as the worker
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster.workers.append(process)
    _eventually(lambda: process.poll() is None and b" ready." in log.read_bytes(), 60, "the threads worker's start")
    return process


def test_a_threads_pool_worker_keeps_calls_in_flight_within_the_bound_through_a_storm(
    site: Site, fake: FakeJira, cluster: Cluster, tmp_path: Path
) -> None:
    """One worker process, six pool threads: several messages' Jira calls in flight at once (the fake answers in
    80 ms), never more than the instance's four call slots, and a 429 storm still ends with each message once."""
    fake.latency = 0.08
    start_threads_worker(cluster, concurrency=6)
    requests, replies = _mailbox_of(24, 8, "threads")
    folder = tmp_path / "mail"
    folder.mkdir()
    for index, raw in enumerate(requests + replies):
        (folder / f"{index:04d}.eml").write_bytes(raw)
    ids = cluster.call("record", str(site.instance_id), str(folder))["ids"]
    fake.storm(4.0)
    cluster.call("queue", *map(str, ids), "--group", "4")  # eight groups at once: up to six run side by side
    rows = site.wait_until_final(32, 120)
    assert Counter(r["outcome"] for r in rows) == {"created": 24, "commented": 8}, rows
    assert 2 <= fake.peak_in_flight <= 4 + 1  # +1: the fake counts a request until its handler returns
    _exactly_once(fake, requests=24, replies=8)
