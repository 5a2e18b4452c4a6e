"""The processing pipeline into the local tracker, message by message (real database, real encrypted storage)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail as django_mail
from django.utils import timezone

from inbound.models import InboundStatus
from inbound.pipeline.service import process_inbound
from profiles.models import MappingRule, ProjectMapping, WorkflowAdvanceRule
from tests.pipeline.conftest import mail, reasons
from trackers.models import Comment, Issue

pytestmark = pytest.mark.django_db


def test_new_mail_from_unknown_sender_creates_issue_with_email_only_fields(deliver, tracker) -> None:
    message = deliver(mail(cc="Dan <dan@customer.example>, support@support.example.com"))
    assert (message.status, message.outcome) == (InboundStatus.PROCESSED, "created")
    issue = tracker.get_issue(message.report["steps"][-1]["details"]["issue"])
    assert issue.project_key == "SUP" and issue.summary == "Printer on fire"
    assert "the printer is on fire" in issue.description
    assert issue.reporter is not None and issue.reporter.account_id == "helpdesk"  # default reporter
    assert issue.email_sender_address == "carol@customer.example"
    assert issue.email_sender_name == "Carol Customer"
    # issue 14: an unauthenticated sender brings no one along (Dan); the requester follows their own issue
    assert issue.email_participants == ("carol@customer.example",)
    users = next(s for s in message.report["steps"] if s["step"] == "users")
    assert users["details"]["addressees"] == "1 To/Cc people not added: the sender is not authenticated"
    steps = [step["step"] for step in message.report["steps"]]
    assert steps[0] == "catch_address" and steps[-1] == "action"
    assert message.report["profile"] == "Support"


def test_reply_with_in_reply_to_becomes_comment_with_reply_text_only(deliver, tracker) -> None:
    first = deliver(mail(message_id="<first@customer.example>"))
    key = first.report["steps"][-1]["details"]["issue"]
    body = (
        "Still burning, now with smoke.\n\nOn Mon, 1 Jun 2026 at 10:00, Support wrote:\n"
        "> We are looking into it.\n> Regards\n"
    )
    reply = deliver(
        mail(
            subject="Re: Printer on fire",
            body=body,
            headers={"In-Reply-To": "<first@customer.example>", "References": "<first@customer.example>"},
        )
    )
    assert reply.outcome == "commented", reasons(reply)
    [comment] = tracker.list_comments(key)
    assert comment.body.startswith("Still burning, now with smoke.")
    assert "We are looking into it" not in comment.body
    assert comment.author_email == "carol@customer.example"  # the email-only sender's reply is accepted
    assert Issue.objects.count() == 1


def test_issue_key_in_subject_associates(deliver, tracker, agents) -> None:
    first = deliver(mail())
    key = first.report["steps"][-1]["details"]["issue"]
    agents["alice"].user_permissions.add(
        Permission.objects.get(codename="add_comment", content_type__app_label="trackers")
    )
    other = deliver(
        mail(subject=f"About {key}: one more thing", sender="alice@example.org", body="Update.", authenticated=True)
    )
    assert other.outcome == "commented"
    assert f"issue key {key} in the subject" in reasons(other)
    assert tracker.list_comments(key)[0].author is not None  # alice has an account


def test_sub_address_routes_to_another_project(deliver, profile, tracker) -> None:
    billing = ProjectMapping.objects.create(profile=profile, name="Billing", project_key="BIL")
    MappingRule.objects.create(mapping=billing, kind="subaddress", pattern="billing", priority=1)
    message = deliver(mail(to="support+billing@support.example.com", subject="Invoice wrong"))
    assert message.outcome == "created"
    key = message.report["steps"][-1]["details"]["issue"]
    assert key.startswith("BIL-")
    issue = tracker.get_issue(key)
    assert issue.issue_type == "Task" and issue.priority == "Medium"  # inherited from the default mapping


@pytest.mark.parametrize(
    ("headers", "subject", "step"),
    [
        ({"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}, "Out of Office: Carol", "auto_reply"),
        ({"Precedence": "bulk", "List-Id": "<news.customer.example>"}, "Newsletter", "bulk"),
        ({"X-Spam-Flag": "YES"}, "Cheap watches", "spam"),
    ],
)
def test_automated_mail_is_filtered_with_reason(deliver, headers, subject, step) -> None:
    message = deliver(mail(subject=subject, headers=headers))
    assert message.outcome in {"dropped", "filtered"}
    assert message.report["steps"][-1]["step"] == step
    assert Issue.objects.count() == 0


def test_bounce_is_dropped_and_no_comment(deliver) -> None:
    first = deliver(mail(message_id="<orig@customer.example>"))
    key = first.report["steps"][-1]["details"]["issue"]
    bounce = mail(
        sender="MAILER-DAEMON@mx.customer.example",
        subject="Undelivered Mail Returned to Sender",
        body="This is the mail system at host mx.customer.example.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.\n\n"
        "<gone@customer.example>: host said: 550 5.1.1 User unknown\n",
        headers={
            "In-Reply-To": "<orig@customer.example>",
            "Return-Path": "<>",
            "X-Failed-Recipients": "gone@customer.example",
        },
    )
    message = deliver(bounce)
    assert message.outcome == "dropped"
    assert message.report["steps"][-1]["step"] in {"bounce", "auto_reply"}
    assert Comment.objects.filter(issue__key=key).count() == 0


def test_customer_reply_quoting_a_bounce_becomes_a_comment(deliver, tracker) -> None:
    # Regression (issue 16): an Outlook reply whose quoted history was an NDR was dropped as a bounce.
    first = deliver(mail(message_id="<orig2@customer.example>"))
    key = first.report["steps"][-1]["details"]["issue"]
    body = (
        "My old address is gone, please write to this one from now on.\n\n"
        "________________________________\nFrom: Microsoft Outlook <postmaster@customer.example>\n"
        "Sent: Monday, 1 June 2026 10:00\nTo: support@support.example.com\nSubject: Undeliverable: Printer on fire\n\n"
        "Your message to old@customer.example couldn't be delivered.\nDelivery has failed to these recipients.\n"
    )
    headers = {"In-Reply-To": "<orig2@customer.example>"}
    reply = deliver(mail(subject="RE: Undeliverable: Printer on fire", body=body, headers=headers))
    assert reply.outcome == "commented", reasons(reply)
    [comment] = tracker.list_comments(key)
    assert comment.body.startswith("My old address is gone")


def test_out_of_office_known_only_by_its_subject_is_filtered(deliver) -> None:
    message = deliver(mail(subject="Automatic reply: Printer on fire", body="I am out of the office until Monday."))
    assert message.outcome in {"dropped", "filtered"}
    assert message.report["steps"][-1]["step"] == "auto_reply"
    assert Issue.objects.count() == 0


def test_our_own_notification_coming_back_is_a_loop(deliver) -> None:
    from notifications.threading import fingerprint_for, new_message_id

    raw = mail(
        sender="jemh@support.example.com",
        subject="[SUP-1] Printer on fire",
        message_id=new_message_id(1, "SUP-1"),
        headers={"X-JEMH-Fingerprint": fingerprint_for(1)},
    )
    message = deliver(raw)
    assert message.outcome == "dropped"
    assert message.report["steps"][-1]["step"] == "own_mail"
    assert Issue.objects.count() == 0


def test_directives_set_priority_and_labels(deliver, tracker) -> None:
    body = "@priority=High\n@labels=login,urgent\nI cannot log in."
    message = deliver(mail(subject="Broken login #issueType=Bug", body=body))
    assert message.outcome == "created", reasons(message)
    issue = tracker.get_issue(message.report["steps"][-1]["details"]["issue"])
    assert issue.priority == "High"
    assert set(issue.labels) == {"login", "urgent"}
    assert "@labels" not in issue.description and "I cannot log in." in issue.description
    # the body's processor found more directives than the subject's, so only the body's apply
    assert issue.issue_type == "Task" and "#issueType=Bug" in issue.summary


def test_duplicate_attachment_dropped(deliver, tracker) -> None:
    logs = [("log.txt", "text/plain", b"error 42\n")]
    first = deliver(mail(attachments=logs, message_id="<a1@customer.example>"))
    key = first.report["steps"][-1]["details"]["issue"]
    second = deliver(mail(subject=f"Re: {key}", body="Again", attachments=[*logs, ("new.txt", "text/plain", b"x")]))
    assert second.outcome == "commented"
    assert sorted(a.filename for a in tracker.list_attachments(key)) == ["log.txt", "new.txt"]
    dropped = next(s for s in second.report["steps"] if s["step"] == "attachments")["details"]["dropped"]
    assert dropped == [{"filename": "log.txt", "reason": "duplicate of an attachment the issue already has"}]


def test_comment_limit_rejects_with_hint(deliver, profile) -> None:
    profile.max_comments_per_issue = 1
    profile.save()
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    assert deliver(mail(subject=f"Re: {key}", body="one")).outcome == "commented"
    django_mail.outbox.clear()
    third = deliver(mail(subject=f"Re: {key}", body="two", authenticated=True))  # hints go to authenticated senders
    assert third.outcome == "rejected"
    assert "limit 1" in third.report["reason"]
    [hint] = django_mail.outbox
    assert hint.to == ["carol@customer.example"]
    assert hint.extra_headers["Auto-Submitted"] == "auto-replied"


def test_resolved_too_long_rejected_with_hint(deliver, profile, tracker) -> None:
    profile.resolved_reject_after_days = 7
    profile.save()
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    tracker.transition_issue(key, "Resolved")
    Issue.objects.filter(key=key).update(resolved_at=timezone.now() - timedelta(days=30))
    django_mail.outbox.clear()
    late = deliver(mail(subject=f"Re: {key}", body="It broke again", authenticated=True))
    assert late.outcome == "rejected"
    assert "resolved 30 days ago" in late.report["reason"]
    assert len(django_mail.outbox) == 1 and key in (
        str(django_mail.outbox[0].body) + str(django_mail.outbox[0].subject)
    )
    assert late.report["hint"].startswith("sent")


def test_hint_never_sent_to_automated_mail(deliver, profile) -> None:
    profile.auto_reply_action = "allow"
    profile.save()
    ProjectMapping.objects.filter(profile=profile).update(operating_mode="comment_only")
    django_mail.outbox.clear()
    message = deliver(mail(subject="Automatic reply: away", headers={"Auto-Submitted": "auto-replied"}))
    assert message.outcome == "rejected"
    assert django_mail.outbox == []
    assert message.report["hint"].startswith("not sent: the rejected mail was automated")


def test_workflow_advances_on_comment(deliver, profile, tracker) -> None:
    WorkflowAdvanceRule.objects.create(profile=profile, from_status="Waiting for Customer", to_status="In Progress")
    key = deliver(mail()).report["steps"][-1]["details"]["issue"]
    tracker.transition_issue(key, "In Progress")
    tracker.transition_issue(key, "Waiting for Customer")
    reply = deliver(mail(subject=f"Re: {key}", body="Here is the info"))
    assert "moved from Waiting for Customer to In Progress" in reply.report["reason"]
    assert tracker.get_issue(key).status == "In Progress"


def test_same_message_processed_twice_makes_one_issue(deliver, instance, profile) -> None:
    message = deliver(mail())
    assert process_inbound(message.pk, profile_id=profile.pk) is None  # finished: nothing to do
    # a crash after the issue was created but before the audit row was updated: run it again
    type(message).objects.filter(pk=message.pk).update(status=InboundStatus.RECEIVED, outcome="")
    assert process_inbound(message.pk, profile_id=profile.pk) == "created"
    assert Issue.objects.count() == 1


def test_forward_for_mail_not_to_a_catch_address(deliver, profile) -> None:
    profile.non_catch_action = "forward"
    profile.save()
    django_mail.outbox.clear()
    message = deliver(mail(to="someone-else@support.example.com"))
    assert message.outcome == "forwarded"
    [forwarded] = django_mail.outbox
    assert forwarded.to == ["admin@support.example.com"]
    assert forwarded.attachments[0][2] == "message/rfc822" or "original.eml" in str(forwarded.attachments[0])


def test_missing_profile_is_an_error_a_human_can_act_on(instance, profile) -> None:
    from inbound.pipeline.testcases import record_test_message
    from profiles.models import Profile

    Profile.objects.create(instance=instance, name="Second")
    message = record_test_message(instance.pk, mail())
    assert process_inbound(message.pk) == "error"
    message.refresh_from_db()
    assert "choose the source's profile in the admin" in message.report["error"]


def test_malformed_mail_gets_an_outcome(deliver) -> None:
    raw = b"From: \xff\xfe broken\r\nSubject: =?utf-8?q?broken=ZZ?=\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n"
    message = deliver(raw)
    assert message.status in {InboundStatus.PROCESSED, InboundStatus.ERROR}
    assert message.outcome


def test_raw_mail_deleted_after_processing_when_instance_opts_out(deliver, instance, blob_root) -> None:
    from inbound.pipeline.testcases import record_test_message

    message = record_test_message(instance.pk, mail())
    type(message).objects.filter(pk=message.pk).update(raw_retained_until_processed=True)
    name = message.raw_blob
    from jemh.storage import blob_storage

    assert blob_storage().exists(name)
    process_inbound(message.pk)
    message.refresh_from_db()
    assert message.outcome == "created" and message.raw_blob == ""
    assert not blob_storage().exists(name)


def test_dry_run_test_case_creates_nothing(profile, projects) -> None:
    from inbound.pipeline.testcases import run_test_case
    from profiles.models import TestCase

    case = TestCase.objects.create(profile=profile, name="new", raw_message=mail().decode())
    report: dict[str, Any] = run_test_case(case)
    assert report["dry_run"] is True and report["outcome"] == "created"
    assert "would create an issue in SUP" in report["reason"]
    assert Issue.objects.count() == 0
    real = run_test_case(case, dry_run=False)
    assert real["outcome"] == "created" and Issue.objects.count() == 1


def test_flood_limit_holds_back_a_chatty_sender(deliver, profile) -> None:
    profile.flood_limit_per_hour = 2
    profile.save()
    outcomes = [deliver(mail(subject=f"Message {n}")).outcome for n in range(3)]
    assert outcomes == ["created", "created", "filtered"]


def test_mail_without_a_usable_sender_is_left_for_a_human(deliver) -> None:
    raw = b"To: support@support.example.com\r\nSubject: who am I\r\nMessage-ID: <anon@x.example>\r\n\r\nHello\r\n"
    message = deliver(raw)
    assert message.outcome == "filtered"
    assert "no usable From address" in message.report["reason"]


def test_hostile_html_only_mail_becomes_a_safe_issue(deliver, tracker) -> None:
    html = (
        "<html><body><p>Printer <b>broken</b></p><script>alert(1)</script>"
        '<img src=x onerror=alert(2)><a href="javascript:alert(3)">click</a></body></html>'
    )
    raw = (
        b"From: carol@customer.example\r\nTo: support@support.example.com\r\nSubject: html only\r\n"
        b"Message-ID: <html-1@customer.example>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )
    message = deliver(raw)
    assert message.outcome == "created", message.report
    description = tracker.get_issue(message.report["steps"][-1]["details"]["issue"]).description
    assert "Printer" in description and "broken" in description
    assert "<script" not in description and "alert(" not in description and "javascript:" not in description


def test_message_with_thousands_of_parts_gets_an_outcome(deliver) -> None:
    from tests.mime.samples import many_parts

    raw = many_parts(3000).replace(
        b"From: a@example.com\r\n", b"From: a@example.com\r\nTo: support@support.example.com\r\n", 1
    )
    message = deliver(raw)
    assert (message.status, message.outcome) == ("processed", "created"), message.report
    assert "MIME parts" in message.report["parse_notes"]  # the cap is recorded, and processing went on
    key = message.report["steps"][-1]["details"]["issue"]
    assert 0 < Issue.objects.get(key=key).attachments.count() <= 500


def test_repaired_damage_is_in_the_report_and_nothing_lost_is_no_error(deliver, tracker) -> None:
    # issue 16: a missing final boundary is a defect an admin can read in the report, not an error
    raw = (
        b"From: carol@customer.example\r\nTo: support@support.example.com\r\nSubject: cut short\r\n"
        b"Message-ID: <cut-1@customer.example>\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain\r\n\r\nThe printer is broken.\r\n"
    )
    message = deliver(b"\r\n" + raw)  # and a blank line before the header section, as some pipe filters write
    assert message.outcome == "created", message.report
    assert message.report["parse_defects"] == ["lines before the header section skipped", "missing final boundary"]
    assert "parse_notes" not in message.report and "error" not in message.report
    assert "The printer is broken." in tracker.get_issue(message.report["steps"][-1]["details"]["issue"]).description


def test_dry_run_test_case_reports_parse_defects(profile, projects) -> None:
    from inbound.pipeline.testcases import run_test_case
    from profiles.models import TestCase

    raw = mail().decode().replace("Content-Type: text/plain", "Content-Type: multipart/mixed; boundary=q", 1)
    case = TestCase.objects.create(profile=profile, name="damaged", raw_message=raw)
    report: dict[str, Any] = run_test_case(case)
    assert report["outcome"] == "created" and report["parse_defects"] == ["multipart without parts read as text"]
