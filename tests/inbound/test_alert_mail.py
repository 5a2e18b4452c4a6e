"""The mail telling an instance's admins that a source was disabled is an alert in the outbound audit (issue 12):
recorded, sent through the real SMTP server to each admin, and sent once per disabling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from inbound import health
from inbound.models import Source, SourceKind
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage


def test_a_disabled_source_alerts_each_admin_once(instance: Any, smtp_mail: Any) -> None:
    users = get_user_model().objects
    instance.admins.add(users.create_user("ops", "ops@example.test"), users.create_user("lea", "lea@example.test"))
    source = Source.objects.create(instance=instance, name="flaky", kind=SourceKind.MAILDIR, maildir_path="/nowhere")
    start = timezone.now()
    health.record_failure(source, "connection refused", now=start)
    health.record_failure(source, "[AUTHENTICATIONFAILED] Authentication failed.", now=start + timedelta(hours=25))
    assert not source.enabled
    received = smtp_mail.wait_for(2)
    assert sorted(r.envelope_to[0] for r in received) == ["lea@example.test", "ops@example.test"]
    assert all("flaky" in str(r.message["Subject"]) for r in received)
    assert all("Authentication failed" in r.message.get_body(("plain",)).get_content() for r in received)
    rows = list(OutboundMessage.objects.filter(instance=instance).order_by("pk"))
    assert [(r.kind, r.status) for r in rows] == [(OutboundKind.ALERT, OutboundStatus.SENT)] * 2
    assert sorted(r.recipients[0] for r in rows) == ["lea@example.test", "ops@example.test"]

    assert health.notify_admins_disabled(source) == 2  # told again for the same disabling: nothing sent
    assert len(smtp_mail.wait_for(3, timeout=1)) == 2
    assert OutboundMessage.objects.filter(kind=OutboundKind.ALERT).count() == 2
