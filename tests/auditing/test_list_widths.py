"""The lists read at 1366 px (issue 19: at 1400 px the inbound list's status and outcome, and the source list's next
poll, were off-screen): in a real Chromium at 1366x768, the columns that say what became of mail lie wholly inside
the window, with long subjects, senders, source names and errors on the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from inbound import health
from inbound.models import InboundMessage, Source, SourceKind
from tests.admin_browser import fits_sideways, screenshot, signed_in_page, within_viewport
from tests.pipeline.conftest import mail

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture()
def root() -> Any:
    return get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)


def test_inbound_list_shows_status_and_outcome_at_1366(
    chromium: Any, live_server: Any, root: Any, deliver: Callable[..., InboundMessage]
) -> None:
    for n in range(3):
        deliver(
            mail(
                subject=f"Printer number {n} is on fire and the toner is everywhere in the whole building, again",
                sender=f"Someone With A Long Name {n} <someone.with.a.long.address.{n}@customer-department.example>",
            )
        )
    page = signed_in_page(chromium, live_server, root)
    page.goto(live_server.url + reverse("admin:inbound_inboundmessage_changelist"))
    screenshot(page, "issue19-inbound-list-1366")
    for column in ("status", "outcome", "issue_link", "received_at"):
        assert within_viewport(page, f"#result_list th.column-{column}"), column
        assert within_viewport(page, f"#result_list td.field-{column}, #result_list th.field-{column}"), column
    assert fits_sideways(page)


def test_source_list_shows_health_and_next_poll_at_1366(
    chromium: Any, live_server: Any, root: Any, instance: Any
) -> None:
    for n in range(3):
        source = Source.objects.create(
            instance=instance,
            name=f"support-mailbox-of-the-department-{n}",
            kind=SourceKind.IMAP,
            host="imap.a-rather-long-host-name.example.org",
        )
        health.record_failure(
            source, "login failed: [AUTHENTICATIONFAILED] Authentication failed. " * 4, now=timezone.now()
        )
        source.next_poll_at = timezone.now() + timedelta(minutes=5)
        source.save()
    page = signed_in_page(chromium, live_server, root)
    page.goto(live_server.url + reverse("admin:inbound_source_changelist"))
    screenshot(page, "issue19-source-list-1366")
    for column in ("health_state", "next_poll", "captured_today"):
        assert within_viewport(page, f"#result_list th.column-{column}"), column
        assert within_viewport(page, f"#result_list td.field-{column}"), column
    assert fits_sideways(page)
