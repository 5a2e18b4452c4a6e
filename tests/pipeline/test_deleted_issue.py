"""A reply to an issue deleted in the local tracker: the same as with Jira (tests/pipeline/jira/test_errors.py), a
new issue when the mapping creates issues, the reason in the report; a comment-only mapping rejects it."""

from __future__ import annotations

from collections.abc import Callable

from inbound.models import InboundMessage
from jemh.models import Instance
from notifications.threading import new_message_id
from profiles.models import Profile, ProjectMapping
from tests.pipeline.conftest import mail, reasons
from trackers.local.services import delete_issue
from trackers.models import Issue


def test_a_reply_to_a_deleted_local_issue_becomes_a_new_issue(
    instance: Instance, deliver: Callable[..., InboundMessage]
) -> None:
    first = deliver(mail())
    delete_issue(Issue.objects.get(instance=instance, key=first.issue_key))
    reply = deliver(
        mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, first.issue_key)})
    )
    assert reply.outcome == "created" and reply.issue_key not in ("", first.issue_key)
    assert f"refers to {first.issue_key}, which the tracker does not have" in reasons(reply)


def test_a_comment_only_mapping_rejects_a_reply_to_a_deleted_local_issue(
    instance: Instance, profile: Profile, deliver: Callable[..., InboundMessage]
) -> None:
    first = deliver(mail())
    delete_issue(Issue.objects.get(instance=instance, key=first.issue_key))
    ProjectMapping.objects.filter(profile=profile).update(operating_mode="comment_only")
    profile.save()
    reply = deliver(
        mail(subject="Re: Printer on fire", headers={"In-Reply-To": new_message_id(instance.pk, first.issue_key)})
    )
    assert reply.outcome == "rejected" and f"refers to {first.issue_key}" in reply.report["reason"]
    assert Issue.objects.filter(instance=instance).count() == 0
