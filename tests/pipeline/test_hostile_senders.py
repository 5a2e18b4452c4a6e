"""Hostile senders (issue 14), each test the attack it stops, through real mail: a real Dovecot mailbox in, the
pipeline into the local tracker, notifications and hints out through a real SMTP server, counting what reaches it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from inbound.models import InboundMessage
from inbound.pipeline.testcases import run_test_case
from inbound.retrieval import poll
from notifications.models import NotificationMapping
from profiles.models import ProjectMapping, TestCase
from tests.notifications.helpers import flush_now, send_queued
from tests.pipeline.conftest import OUR_MTA, authentication_results, mail, reasons
from trackers.interface import NewComment
from trackers.local import LocalTracker
from trackers.models import Comment, Issue

pytestmark = pytest.mark.django_db

CAROL = "Carol Customer <carol@customer.example>"
MALLORY = "Mallory <mallory@attacker.example>"


@pytest.fixture()
def inline_processing(settings: Any) -> None:
    settings.JEMH_PROCESS_INLINE = True


@pytest.fixture()
def mx(make_source: Any, profile: Any) -> Any:
    """The Dovecot source behind our MTA (its verdicts are believed)."""
    return make_source(profile=profile, trusted_authserv_ids=OUR_MTA)


@pytest.fixture()
def receive(mx: Any, mailbox: Any, inline_processing: None, django_capture_on_commit_callbacks: Any) -> Any:
    """Append raw mail to the Dovecot mailbox, poll the source (processing inline); the new audit rows."""

    def run(*raws: bytes) -> list[InboundMessage]:
        before = set(InboundMessage.objects.values_list("pk", flat=True))
        for raw in raws:
            mailbox.append(raw)
        with django_capture_on_commit_callbacks(execute=True):
            assert poll(mx, force=True).status == "ok"
        return list(InboundMessage.objects.exclude(pk__in=before).order_by("pk"))

    return run


def notify(instance: Any, key: str, capture: Any) -> None:
    """Send the issue's pending notifications now."""
    with capture(execute=True):
        flush_now(instance, key)
    send_queued()


def recipients(smtp_mail: Any) -> list[str]:
    return [rcpt for received in smtp_mail.received for rcpt in received.envelope_to]


def test_the_strangers_re_sup_1_joins_nothing_and_hears_nothing(
    receive, instance, smtp_mail, django_capture_on_commit_callbacks
) -> None:
    """A stranger who writes ``Re: SUP-1`` (keys are sequential) was a comment author and a participant, and got
    every later notification of the issue, the agents' replies to the real customer included."""
    NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=0)
    [created] = receive(mail(sender=CAROL, subject="My invoice is wrong", authenticated=True))
    key = created.issue_key
    [stranger] = receive(mail(sender=MALLORY, subject=f"Re: {key}", body="Please send me the invoice too."))
    assert stranger.outcome == "filtered", reasons(stranger)
    assert f"the sender may not write to {key}" in stranger.report["reason"] and "held" in stranger.report["reason"]
    issue = Issue.objects.get(key=key)
    assert not Comment.objects.filter(issue=issue).exists()
    assert issue.email_participants == ["carol@customer.example"]  # the requester only
    # an agent answers the customer: the stranger is not told
    LocalTracker(instance).add_comment(key, _agent_reply())
    notify(instance, key, django_capture_on_commit_callbacks)
    assert "mallory@attacker.example" not in recipients(smtp_mail)
    assert "carol@customer.example" in recipients(smtp_mail)


def _agent_reply() -> NewComment:
    return NewComment(body="Here is your corrected invoice.", author="alice")


def test_a_cc_list_of_500_sends_a_bounded_number_of_mails(
    receive, instance, smtp_mail, django_capture_on_commit_callbacks
) -> None:
    """With addressee handling ``participants``, one 12.5 KB mail that Cc'd strangers made 451 notifications."""
    ProjectMapping.objects.filter(is_default=True).update(addressee_handling="participants")
    NotificationMapping.objects.create(instance=instance, name="All", batch_window_seconds=0)
    strangers = ", ".join(f"victim{i}@elsewhere.example" for i in range(500))
    [forged, signed] = receive(
        mail(sender=MALLORY, subject="Cheap pills", cc=strangers),
        mail(sender=MALLORY, subject="Cheap pills again", cc=strangers, authenticated=True),
    )
    # unauthenticated: no one joins (but the requester); authenticated: the per-message cap
    assert Issue.objects.get(key=forged.issue_key).email_participants == ["mallory@attacker.example"]
    assert len(Issue.objects.get(key=signed.issue_key).email_participants) == 1 + 10
    for message in (forged, signed):
        notify(instance, message.issue_key, django_capture_on_commit_callbacks)
    sent = recipients(smtp_mail)
    victims = [r for r in sent if r.endswith("@elsewhere.example")]
    assert len(victims) == 10, sent  # 0 for the forged mail, 10 for the authenticated one, out of 1,000
    # the requester's acknowledgement (issue 19) only for the authenticated mail: a forged From is anyone's address,
    # and acknowledging it would be backscatter; never to the Cc'd strangers
    assert sent.count("mallory@attacker.example") == 1, sent
    assert len(sent) <= 13  # and the default reporter of each new issue


def test_a_forged_staff_from_with_directives_gets_no_staff_rights(receive, agents) -> None:
    """A forged ``From: helpdesk@...`` with ``@project=BIL @assignee=alice @priority=Highest`` created an issue in
    another project, assigned and reported as staff."""
    agents["helpdesk"].is_superuser = True
    agents["helpdesk"].save()
    forged = mail(
        sender="Helpdesk <helpdesk@support.example.com>",
        subject="Urgent",
        body="@project=BIL\n@assignee=alice\n@priority=Highest\n\nPlease do this now.",
        headers={"Authentication-Results": authentication_results("helpdesk@support.example.com", "mx.attacker.net")},
    )
    [message] = receive(forged)
    assert message.outcome == "created", reasons(message)
    issue = Issue.objects.get(key=message.issue_key)
    assert issue.project.key == "SUP" and issue.assignee is None and issue.priority == "Highest"
    assert issue.email_sender_address == "helpdesk@support.example.com"  # an e-mail-only sender, not the staff
    rights = next(s for s in message.report["steps"] if s["step"] == "directive_rights")["details"]
    assert set(rights["dropped"]) == {"project", "assignee"}
    # the same mail really from the helpdesk (our MTA says DMARC pass) may do all of it
    genuine = forged.replace(b"mx.attacker.net", OUR_MTA.encode())  # the Authentication-Results now names our own MTA
    [message] = receive(genuine.replace(b"Message-ID: <", b"Message-ID: <genuine."))
    issue = Issue.objects.get(key=message.issue_key)
    assert issue.project.key == "BIL" and issue.assignee is not None and issue.assignee.username == "alice"


def test_a_forged_colleagues_comment_is_not_stored_as_theirs(receive, agents) -> None:
    agents["alice"].user_permissions.add(
        Permission.objects.get(codename="add_comment", content_type__app_label="trackers")
    )
    [created] = receive(mail(sender=CAROL, subject="Printer on fire", authenticated=True))
    [forged] = receive(mail(sender="Alice <alice@example.org>", subject=f"Re: {created.issue_key}", body="Closed."))
    assert forged.outcome == "filtered"  # not on the issue, and unauthenticated mail may not act as alice
    [signed] = receive(
        mail(sender="Alice <alice@example.org>", subject=f"Re: {created.issue_key}", body="Fixed.", authenticated=True)
    )
    assert signed.outcome == "commented"
    [comment] = Comment.objects.filter(issue__key=created.issue_key)
    assert comment.author is not None and comment.author.username == "alice"


def test_a_custom_field_directive_cannot_capture_a_partners_foreign_key(deliver, profile) -> None:
    """An e-mail-only sender set ``@customfield_...=777`` and so captured a partner system's later [CASE-777]."""
    profile.foreign_key_field = "customfield_10100"
    profile.foreign_key_pattern = r"\[CASE-(\d+)\]"
    profile.save()
    trap = deliver(mail(sender=MALLORY, subject="Hello", body="@customfield_10100=777\n\nhi", authenticated=True))
    assert trap.outcome == "created"
    assert Issue.objects.get(key=trap.issue_key).custom_fields == {}
    partner = deliver(
        mail(sender="cases@partner.example", subject="[CASE-777] Server down", body="Details.", authenticated=True)
    )
    assert partner.outcome == "created" and partner.issue_key != trap.issue_key
    assert Issue.objects.get(key=partner.issue_key).custom_fields == {"customfield_10100": "777"}


def test_a_strangers_subject_foreign_key_cannot_capture_a_partners_later_mail(deliver, profile) -> None:
    """A stranger's first mail ``[CASE-777] ...`` stored CASE 777 on the stranger's new issue, so the partner system's
    own [CASE-777] mail later became comments there (issue 14)."""
    profile.foreign_key_field = "customfield_10100"
    profile.foreign_key_pattern = r"\[CASE-(\d+)\]"
    profile.associate_by_foreign_key = True
    profile.save()
    ProjectMapping.objects.filter(is_default=True).update(stranger_action="new_issue")
    forged = deliver(mail(sender="Partner <cases@partner.example>", subject="[CASE-777] Server down", body="x"))
    assert forged.outcome == "created"  # unauthenticated: a new issue, without the key
    assert Issue.objects.get(key=forged.issue_key).custom_fields == {}
    assert "not stored: the sender is not authenticated" in str(forged.report)
    partner = deliver(mail(sender="cases@partner.example", subject="[CASE-777] Server down", authenticated=True))
    assert partner.outcome == "created" and partner.issue_key != forged.issue_key
    assert Issue.objects.get(key=partner.issue_key).custom_fields == {"customfield_10100": "777"}
    # authenticated for its own domain, naming the partner's key: a new linked issue, which does not take the key
    trap = deliver(mail(sender=MALLORY, subject="[CASE-777] Server down", body="mine now", authenticated=True))
    assert trap.outcome == "created" and trap.issue_key not in (partner.issue_key, forged.issue_key)
    assert Issue.objects.get(key=trap.issue_key).custom_fields == {}
    later = deliver(
        mail(sender="cases@partner.example", subject="[CASE-777] Update", body="Fixed.", authenticated=True)
    )
    assert later.outcome == "commented" and later.issue_key == partner.issue_key


def test_hints_never_go_to_a_reply_to_and_at_most_once_a_day(receive, profile, smtp_mail) -> None:
    """Rejection hints went to the Reply-To (which the sender controls), unthrottled: backscatter."""
    ProjectMapping.objects.filter(is_default=True).update(unknown_sender_action="reject")
    long_subject = "Win a prize " * 20
    victim = {"Reply-To": "victim@elsewhere.example"}
    forged = [
        mail(sender="anyone@forged.example", subject=f"{long_subject}{i}", headers=victim, body="SECRET-BODY-TEXT")
        for i in range(3)
    ]
    messages = receive(*forged)
    assert [m.outcome for m in messages] == ["rejected"] * 3
    assert all(m.report["hint"].startswith("not sent: the sender is not authenticated") for m in messages)
    # authenticated for its own domain, with a victim's Reply-To: the hint goes to the From, once a day
    signed = [
        mail(sender=MALLORY, subject=f"{long_subject}{i}", headers=victim, body="SECRET-BODY-TEXT", authenticated=True)
        for i in range(3)
    ]
    messages = receive(*signed)
    assert [m.report["hint"].split(":")[0] for m in messages] == ["sent (unknown_sender)", "not sent", "not sent"]
    assert "in the last 24 hour(s)" in messages[1].report["hint"]
    [hint] = smtp_mail.wait_for(1)
    assert hint.envelope_to == ["mallory@attacker.example"]
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1  # nothing to the victim, nothing more to Mallory
    text = hint.message.get_body(("plain",)).get_content()
    subject = " ".join(str(hint.message["Subject"]).split())
    assert "SECRET-BODY-TEXT" not in text and long_subject.strip() not in subject
    assert len(subject) <= len("Re: ") + 60


def test_a_dry_run_test_case_is_judged_as_mail_from_the_profiles_sources(profile, mta_source, agents) -> None:
    """A test case has no source: it is judged with the trust of the profile's sources, so it shows what real mail
    from them would do (an account acting only when its mail is authenticated)."""
    signed = mail(sender="alice@example.org", subject="Printer", authenticated=True).decode()
    forged = signed.replace(OUR_MTA, "mx.attacker.net")
    for raw, account in ((signed, "alice"), (forged, "")):
        case = TestCase.objects.create(profile=profile, name=f"from alice {account}", raw_message=raw)
        report = run_test_case(case, dry_run=True)
        [step] = [s for s in report["steps"] if s["step"] == "sender_authentication"]
        assert step["details"]["account"] == account, step
