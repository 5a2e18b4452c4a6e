"""Source health and adaptive back-off.

A failing source is retried every 5 minutes during its first hour offline, then every 30 minutes; after a
day it is disabled and the instance's admins are told by mail. One success resets everything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from inbound.models import Source
from jemh import metrics
from notifications.choices import OutboundKind
from notifications.services import send_mail

log = logging.getLogger(__name__)

RETRY_SOON = timedelta(minutes=5)
RETRY_LATER = timedelta(minutes=30)
LONG_OFFLINE = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)
MAX_ERROR_CHARS = 2000

HEALTH_FIELDS = [
    "last_poll_at",
    "last_success_at",
    "last_error",
    "last_error_at",
    "consecutive_failures",
    "failing_since",
    "next_poll_at",
]


def is_due(source: Source, now: datetime | None = None) -> bool:
    """Whether a scheduled poll should run now (false while backing off)."""
    now = now or timezone.now()
    return source.enabled and (source.next_poll_at is None or source.next_poll_at <= now)


def next_poll(source: Source) -> datetime | None:
    """When the source will next be polled, for display."""
    if not source.enabled or not source.is_polled:
        return None
    if source.next_poll_at is not None:
        return source.next_poll_at
    if source.last_poll_at is not None:
        return source.last_poll_at + timedelta(seconds=source.poll_interval)
    return None


def record_success(source: Source, state: dict[str, object] | None = None, now: datetime | None = None) -> None:
    now = now or timezone.now()
    recovered = source.consecutive_failures > 0
    source.last_poll_at = source.last_success_at = now
    source.consecutive_failures = 0
    source.failing_since = None
    source.next_poll_at = None
    fields = list(HEALTH_FIELDS)
    for name, value in (state or {}).items():
        setattr(source, name, value)
        fields.append(name)
    source.save(update_fields=fields)
    if recovered:
        log.info("source %s recovered", source.pk)


def record_failure(
    source: Source, error: str, now: datetime | None = None, *, retry_after: float | None = None
) -> None:
    """Record a failed poll in the server's words and schedule the retry (no sooner than a server's ``retry_after``
    seconds, when it asked for one); disable after a day offline."""
    now = now or timezone.now()
    source.last_poll_at = source.last_error_at = now
    source.last_error = error[:MAX_ERROR_CHARS]
    source.consecutive_failures += 1
    source.failing_since = source.failing_since or now
    offline = now - source.failing_since
    wait = RETRY_SOON if offline < LONG_OFFLINE else RETRY_LATER
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=min(retry_after, GIVE_UP_AFTER.total_seconds())))
    source.next_poll_at = now + wait
    metrics.count("jemh_source_poll_failures", source=source.name)
    log.warning(
        "source %s failed (%s in a row, offline for %s): %s",
        source.pk,
        source.consecutive_failures,
        offline,
        source.last_error,
    )
    if offline >= GIVE_UP_AFTER:
        source.enabled = False
        source.disabled_reason = (
            f"Disabled automatically on {now:%Y-%m-%d %H:%M %Z} after failing for over a "
            f"day ({source.consecutive_failures} attempts). Last error: {source.last_error}"
        )
        source.save(update_fields=[*HEALTH_FIELDS, "enabled", "disabled_reason"])
        notify_admins_disabled(source)
        return
    source.save(update_fields=HEALTH_FIELDS)


def reset(source: Source) -> None:
    """Forget past failures (an admin re-enabled the source, presumably after fixing it)."""
    source.consecutive_failures = 0
    source.failing_since = None
    source.next_poll_at = None
    source.disabled_reason = ""
    source.save(update_fields=["consecutive_failures", "failing_since", "next_poll_at", "disabled_reason"])


def notify_admins_disabled(source: Source) -> int:
    """Mail the instance's admins that a source was disabled; returns the number of recipients. The alert is
    recorded (kind ``alert``) and sent by the notifications app, once per disabling, retried through an outage."""
    instance = source.instance
    subject = f'[JEMH] Mail source "{source.name}" of {instance.name} was disabled'
    body = (
        f'The mail source "{source.name}" ({source.get_kind_display()}) of {instance.name} has failed '
        f"since {source.failing_since:%Y-%m-%d %H:%M %Z} and was disabled.\n\n"
        f"The server's last answer was:\n    {source.last_error}\n\n"
        "Mail sent to this mailbox is not being picked up. Fix the cause (for example the password, the "
        'server name or the folder), use "Test connection" on the source in the admin, then enable it again.\n'
    )
    since = source.failing_since.isoformat() if source.failing_since else "unknown"
    return _alert_admins(source, "was disabled", subject, body, f"source:{source.pk}:disabled:{since}")


def notify_admins_sign_in_again(source: Source, reason: str) -> int:
    """Mail the instance's admins that the provider refused the source's OAuth sign-in, once per connection
    (the same alert path as a disabled source); returns the number of recipients."""
    instance = source.instance
    subject = f'[JEMH] Mail source "{source.name}" of {instance.name}: sign in again'
    body = (
        f'The mail source "{source.name}" of {instance.name} can no longer read its mailbox'
        f"{' ' + source.oauth_account if source.oauth_account else ''}: {reason}\n\n"
        "Mail sent to this mailbox is not being picked up until someone signs in again.\n"
    )
    connected = source.oauth_connected_at.isoformat() if source.oauth_connected_at else "never"
    return _alert_admins(
        source, "needs a new OAuth sign-in", subject, body, f"source:{source.pk}:sign-in-again:{connected}"
    )


def _alert_admins(source: Source, what: str, subject: str, body: str, idempotency_key: str) -> int:
    """Record and send one alert about ``source`` to its instance's admins (else settings.ADMINS), once per
    ``idempotency_key``; the number of recipients (0 when there is nobody to tell or it could not be recorded)."""
    instance = source.instance
    recipients = sorted({user.email for user in instance.admins.all() if user.email})
    if not recipients:
        recipients = [email for _, email in getattr(settings, "ADMINS", [])]
    if not recipients:
        log.error("source %s %s but instance %s has no admin to tell", source.pk, what, instance.pk)
        return 0
    try:
        send_mail(
            kind=OutboundKind.ALERT,
            instance=instance,
            message=EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients),
            idempotency_key=idempotency_key,
        )
    except Exception:
        log.exception("could not mail the admins of instance %s that source %s %s", instance.pk, source.pk, what)
        return 0
    return len(recipients)
