"""What mail costs in Jira calls through the whole pipeline, against the fake Jira (issue 13's targets, warm caches):
a reply to a request is one call (the comment): its issue comes from the issue-state cache every worker shares."""

from __future__ import annotations

from collections.abc import Callable

from inbound.models import InboundMessage
from jemh.models import Instance
from notifications.threading import new_message_id
from tests.pipeline.conftest import mail
from tests.trackers.jira_fake import FakeJira
from trackers.jira.issue_state import forget_issue


def reply_to(instance: Instance, key: str, text: str = "It is still burning.") -> bytes:
    return mail(subject="Re: Printer on fire", body=text, headers={"In-Reply-To": new_message_id(instance.pk, key)})


def test_a_reply_to_a_request_comments_with_one_jira_call(
    instance: Instance, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    deliver(mail(subject="Warming up"))  # the site's projects, fields and the sender's look-up are cached now
    fake.calls.clear()
    request = deliver(mail())
    assert request.outcome == "created" and sum(fake.calls.values()) == 2, fake.calls
    fake.calls.clear()
    reply = deliver(reply_to(instance, request.issue_key))  # a new unit of work, as another worker would run it
    assert (reply.outcome, reply.issue_key) == ("commented", request.issue_key)
    assert dict(fake.calls) == {"addComment": 1}
    fake.calls.clear()
    again = deliver(reply_to(instance, request.issue_key, "Now it smokes."))
    assert again.outcome == "commented" and dict(fake.calls) == {"addComment": 1}
    assert len(fake.state.issue(request.issue_key).comments) == 2


def test_a_reply_after_a_webhook_reads_the_issue_again(
    instance: Instance, fake: FakeJira, deliver: Callable[..., InboundMessage]
) -> None:
    request = deliver(mail())
    fake.calls.clear()
    forget_issue(instance.pk, request.issue_key)  # Jira told us the issue changed
    reply = deliver(reply_to(instance, request.issue_key))
    assert reply.outcome == "commented"
    assert fake.count("getIssue") == 1 and fake.count("addComment") == 1
