"""Pausing an instance's processing when its tracker refuses the instance's own credentials or permissions.

A 401 or 403 from Jira (``trackers.errors.AccessRefused``) fails every message of the instance the same way until an
admin fixes the token or the permission, so retrying is a storm for nothing. Instead the instance is paused once
(a conditional update: of many workers hitting it at once, one pauses it), its admins are told once by mail, and
its messages wait unprocessed (received, no attempt spent): claims and the sweep skip a paused instance. Resuming
(:func:`inbound.services.resume_processing`) clears the flag and queues what waited.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from jemh.logging import redact
from jemh.models import Instance
from notifications.choices import OutboundKind
from notifications.services import send_mail

log = logging.getLogger(__name__)


def pause(instance: Instance, reason: str) -> bool:
    """Pause the instance's processing with the tracker's words as the reason. True when this call paused it (and
    told its admins); False when it was paused already."""
    now = timezone.now()
    reason = redact(reason)
    paused = Instance.objects.filter(pk=instance.pk, processing_paused=False).update(
        processing_paused=True, processing_paused_at=now, processing_paused_reason=reason
    )
    instance.processing_paused = True
    if not paused:
        return False
    instance.processing_paused_at, instance.processing_paused_reason = now, reason
    log.warning("processing of instance %s paused: the tracker refused its credentials or permissions", instance.pk)
    alert_admins(instance)
    return True


def alert_admins(instance: Instance) -> int:
    """Mail the instance's admins (else settings.ADMINS) that its processing is paused and what to do; once per
    pausing (the idempotency key names the moment it paused). Returns the number of recipients."""
    recipients = sorted({user.email for user in instance.admins.all() if user.email})
    if not recipients:
        recipients = [email for _, email in getattr(settings, "ADMINS", [])]
    if not recipients:
        log.error("instance %s was paused but has no admin with an e-mail address to tell", instance.pk)
        return 0
    moment = instance.processing_paused_at or timezone.now()
    subject = f"[JEMH] Processing of {instance.name} is paused: the tracker refused its credentials"
    body = (
        f"Since {moment:%Y-%m-%d %H:%M %Z}, the tracker of {instance.name} ({instance.base_url or 'local'}) refuses "
        "the instance's credentials or permissions. Its answer was:\n\n"
        f"    {instance.processing_paused_reason}\n\n"
        "Processing of this instance's mail is paused so that it does not fail message after message. Nothing is "
        "lost: new mail is still captured and waits.\n\n"
        "What to do: fix the credentials (a new API token or personal access token) or the missing permission, "
        'check with "Test tracker connection" on the instance in the admin, then use "Resume processing" there '
        "(or run `python manage.py jemh jira resume --instance NAME`). The waiting mail is then processed.\n"
    )
    try:
        send_mail(
            kind=OutboundKind.ALERT,
            instance=instance,
            message=EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients),
            idempotency_key=f"instance:{instance.pk}:paused:{moment.isoformat()}",
        )
    except Exception:
        log.exception("could not mail the admins of instance %s about its paused processing", instance.pk)
        return 0
    return len(recipients)


def paused_instance_ids() -> set[int]:
    return set(Instance.objects.filter(processing_paused=True).values_list("pk", flat=True))
