"""The admin shows a processing report as a table whose issue key links to the issue, and the issue links back
to the inbound message it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from inbound.models import InboundMessage
from tests.pipeline.conftest import mail
from trackers.models import Issue


def _message_url(message: InboundMessage) -> str:
    meta = InboundMessage._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[message.pk])


def test_the_report_table_links_the_issue_and_the_issue_links_back(
    admin_client: Any, deliver: Callable[..., InboundMessage]
) -> None:
    message = deliver(mail(subject="Printer <b>on fire</b>"))
    issue = Issue.objects.get()
    issue_url = reverse("admin:trackers_issue_change", args=[issue.pk])
    page = admin_client.get(_message_url(message)).content.decode()
    assert '<table class="jemh-report">' in page
    assert f'<a href="{issue_url}">{issue.key}</a>' in page
    deciding = page.split('class="jemh-report-deciding"')[1].split("</tr>")[0]
    assert "<td>action</td>" in deciding and f"created {issue.key}" in deciding

    back = admin_client.get(issue_url).content.decode()
    assert f'<a href="{_message_url(message)}">#{message.pk}</a>' in back


def test_a_key_of_no_issue_is_not_linked(admin_client: Any, deliver: Callable[..., InboundMessage]) -> None:
    message = deliver(mail())
    report = dict(message.report)
    report["steps"] = [*report["steps"][:-1], {**report["steps"][-1], "details": {"issue": "NOPE-9"}}]
    InboundMessage.objects.filter(pk=message.pk).update(report=report)
    page = admin_client.get(_message_url(message)).content.decode()
    assert "issue: NOPE-9" in page and ">NOPE-9</a>" not in page
