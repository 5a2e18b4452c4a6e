"""Notifications across a SECRET_KEY rotation (old key in SECRET_KEY_FALLBACKS): the reply token of a mail sent
before it still verifies, and the next mail to a recipient still threads on the previous one, also when that one's
recipient hash was made the old way (keyed by SECRET_KEY, before JEMH_INDEX_KEY)."""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from notifications import threading
from notifications.models import IssueEvent, NotificationMapping, OutboundMessage
from tests.core.test_keyed_hash import NEW_SECRET, OLD_SECRET, old_keyed_hash
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.notifications.test_sending import PARTICIPANT, new_issue
from trackers.interface import NewComment

ROTATED = {"SECRET_KEY": NEW_SECRET, "SECRET_KEY_FALLBACKS": [OLD_SECRET]}


def test_a_notification_sent_before_a_rotation_keeps_its_token_and_its_thread(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, settings: Any
) -> None:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_SECRET, []
    issue = new_issue(tracker)
    instance = IssueEvent.objects.get(issue_key=issue.key).instance
    flush_now(instance, issue.key)
    send_queued()
    first = by_recipient(smtp_mail.wait_for(3))[PARTICIPANT]
    # the recipient hashes of mail sent before JEMH_INDEX_KEY were keyed by SECRET_KEY
    for row in OutboundMessage.objects.all():
        [address] = row.recipients
        OutboundMessage.objects.filter(pk=row.pk).update(recipient_hash=old_keyed_hash(address, "lookup", OLD_SECRET))

    with override_settings(**ROTATED):
        token = threading.parse_reply_address(first["Reply-To"])
        assert token is not None and (token.instance_id, token.issue_key) == (instance.pk, issue.key)
        assert token.sent_to(PARTICIPANT)
        assert threading.fingerprint_instance(first[threading.FINGERPRINT_HEADER]) == instance.pk

        smtp_mail.clear()
        tracker.add_comment(issue.key, NewComment(body="On it.", author="alice"))
        flush_now(instance, issue.key)
        send_queued()
        second = by_recipient(smtp_mail.wait_for(3))[PARTICIPANT]
    assert second["In-Reply-To"] == first["Message-ID"]  # threaded on the mail sent before the rotation
    assert tracker.find_issue_by_message_ids([first["Message-ID"]]).key == issue.key
