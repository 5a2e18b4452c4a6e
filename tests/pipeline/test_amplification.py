"""The amplification factor (issue 14): how many mails reach the SMTP server per inbound mail from an unknown sender,
whatever its recipient list. Regression: one 12.5 KB mail Cc'ing strangers made 451 notifications from our domain.

Benchmark-shaped: real mail into a real Dovecot mailbox, polled and processed as in production, notifications
flushed and sent as the flush task does, and what reaches the real SMTP server (aiosmtpd) counted. The factor is
bounded by the per-issue hourly limit (``Instance.max_mail_per_issue_per_hour``) however many addresses the
attacker lists; the rest waits, held, in the outbound audit (nothing is dropped)."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.models import InboundMessage
from inbound.retrieval import poll
from jemh.models import DEFAULT_MAIL_PER_ISSUE_PER_HOUR
from notifications.choices import OutboundStatus
from notifications.models import NotificationMapping, OutboundMessage
from notifications.tasks import send_and_reschedule
from tests.notifications.helpers import flush_now
from tests.pipeline.conftest import mail
from trackers.models import Issue

pytestmark = pytest.mark.django_db
AMPLIFICATION_BOUND = DEFAULT_MAIL_PER_ISSUE_PER_HOUR  # mails out per inbound mail, at most, in any hour


def spam(index: int, strangers: int) -> bytes:
    """A stranger's new request Cc'ing ``strangers`` addresses, as the review sent it."""
    cc = ", ".join(f"victim{index}-{n}@elsewhere{n % 7}.example" for n in range(strangers))
    return mail(
        sender=f"Mallory <mallory{index}@attacker.example>",
        subject=f"Cheap watches {index}",
        body="Buy now at http://attacker.example/\n" * 20,
        cc=cc,
    )


def test_a_mail_cc_ing_500_strangers_sends_at_most_a_constant(
    settings: Any,
    instance: Any,
    profile: Any,
    make_source: Any,
    mailbox: Any,
    smtp_mail: Any,
    capsys: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.JEMH_PROCESS_INLINE = True
    NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=0)
    source = make_source(profile=profile)
    sizes = (500, 5)
    mailbox.append(*(spam(index, strangers) for index, strangers in enumerate(sizes)))
    with django_capture_on_commit_callbacks(execute=True):
        assert poll(source, force=True).status == "ok"
    inbound = InboundMessage.objects.count()
    assert inbound == len(sizes)
    for issue in Issue.objects.all():
        result = flush_now(instance, issue.key)
        send_and_reschedule(result.outbound_ids, result.prepared)  # what the flush task does, over real SMTP

    received = smtp_mail.wait_for(AMPLIFICATION_BOUND * inbound + 1, timeout=2)
    keys = list(Issue.objects.values_list("key", flat=True))
    assert len(keys) == inbound  # each spam mail opened an issue of its own
    per_mail = dict.fromkeys(keys, 0)
    for arrived in received:
        per_mail[next(k for k in keys if f"[{k}]" in str(arrived.message["Subject"]))] += 1
    factor = max(per_mail.values())
    made = OutboundMessage.objects.count()
    held = OutboundMessage.objects.filter(status=OutboundStatus.HELD).count()
    with capsys.disabled():
        print(
            f"\namplification: at most {factor} mails out per inbound mail ({len(received)} for {inbound} mails "
            f"Cc'ing {sizes} strangers; bound {AMPLIFICATION_BOUND}); {made} recorded, {held} held for later"
        )
    assert factor <= AMPLIFICATION_BOUND, per_mail
    # nothing is lost: every recorded mail went out or waits, held, with the time it may go
    assert OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == len(received)
    assert made == len(received) + held
    assert not OutboundMessage.objects.filter(status=OutboundStatus.HELD, next_attempt_at=None).exists()
