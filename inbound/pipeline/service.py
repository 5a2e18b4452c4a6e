"""Processing one captured message: claim it, run the pipeline under its profile, act, record the outcome.

Safe to run twice and after a crash at any point: the claim skips finished messages, and every tracker
call carries the message's idempotency key.
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Any

from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.utils import timezone

from auditing.models import InboundMessage, InboundStatus
from inbound.mime import ClassifierConfig, ParsedMessage, parse
from inbound.pipeline.chain import RunResult, run_chain
from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Outcome
from inbound.pipeline.replies import forward_original, send_hint
from jemh.logging import redact
from profiles.config import ProfileConfig
from profiles.routing import MessageFacts
from profiles.services import ProfileConfigError, current_profile_config
from trackers.errors import TemporaryTrackerError, TrackerError

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)  # a "processing" message untouched this long was abandoned by a crash
MAX_ATTEMPTS = 8  # temporary failures before the message needs a human


class NoProfile(Exception):
    """No profile is configured for the message's source."""


def classifier_config() -> ClassifierConfig:
    from notifications.threading import own_message_id_domains

    return ClassifierConfig(own_message_id_domains=tuple(own_message_id_domains()))


def claim(inbound_id: int) -> InboundMessage | None:
    """Mark the message as being processed, unless it is finished or another worker holds a fresh claim.

    One conditional UPDATE claims (atomic: of two workers racing, the second sees the first's claim and updates
    nothing); the message is then loaded with its instance, source and the source profile's version."""
    now = timezone.now()
    claimed = (InboundMessage.objects.filter(pk=inbound_id)
               .exclude(status__in=[InboundStatus.PROCESSED, InboundStatus.ERROR])
               .exclude(status=InboundStatus.PROCESSING, updated_at__gt=now - STALE_CLAIM)
               .update(status=InboundStatus.PROCESSING, updated_at=now))
    if not claimed:
        return None
    return (InboundMessage.objects.select_related("instance", "source")
            .annotate(source_profile_version=F("source__profile__updated_at")).filter(pk=inbound_id).first())


def profile_for(message: InboundMessage, profile_id: int | None = None) -> ProfileConfig:
    """The given profile, else the source's profile; failing that, the instance's only enabled profile."""
    from profiles.models import Profile

    version = None
    if profile_id is None and message.source_id:
        profile_id = getattr(message.source, "profile_id", None)
        version = getattr(message, "source_profile_version", None)
    if profile_id is None:
        profiles = Profile.objects.filter(instance_id=message.instance_id, enabled=True)
        enabled = list(profiles.values_list("pk", flat=True))
        if len(enabled) != 1:
            source = message.source.name if message.source_id else "(no source)"
            raise NoProfile(f"no profile is set for source {source!r} and the instance has {len(enabled)} enabled "
                            "profiles: choose the source's profile in the admin")
        profile_id = enabled[0]
    return current_profile_config(profile_id, version)


def build_context(*, instance_id: int, raw: bytes, parsed: ParsedMessage, profile: ProfileConfig,
                  inbound: InboundMessage | None, dry_run: bool) -> Context:
    from jemh.models import Instance
    from trackers.registry import get_tracker

    facts = MessageFacts.from_parsed(parsed)
    instance = inbound.instance if inbound is not None else Instance.objects.get(pk=instance_id)
    if inbound is not None and isinstance(inbound.recipients, dict):
        envelope = [a for values in inbound.recipients.values() for a in (values or []) if isinstance(a, str)]
        facts = MessageFacts(facts.sender, tuple(dict.fromkeys((*facts.recipients, *envelope))), facts.subject,
                             facts.headers)
    return Context(
        instance_id=instance_id, message=parsed, raw=raw, profile=profile,
        tracker=get_tracker(instance), now=timezone.now(),
        inbound_id=inbound.pk if inbound is not None else None, dry_run=dry_run,
        sender_hash=inbound.sender_hash if inbound is not None else "", facts=facts,
    )


def run(ctx: Context) -> tuple[RunResult, dict[str, Any]]:
    """Run the chain and then what follows an outcome (forwarding, hints). Returns the result and notes."""
    result = run_chain(ctx)
    notes: dict[str, Any] = {}
    if ctx.dry_run:
        return result, notes
    if result.outcome == Outcome.FORWARDED:
        sent = forward_original(ctx, result.reason)
        if not sent:
            result = RunResult(Outcome.FILTERED, result.reason + "; no forward-to address configured: left for a "
                               "human", result.verdicts)
        notes["forwarded_to"] = sent
    if result.outcome == Outcome.REJECTED and ctx.hint is not None:
        notes["hint"] = send_hint(ctx)
    return result, notes


def report_of(profile: ProfileConfig | None, result: RunResult | None, notes: dict[str, Any],
              attempts: int, error: str = "") -> dict[str, Any]:
    report: dict[str, Any] = {"attempts": attempts}
    if profile is not None:
        report["profile"] = profile.name
    if result is not None:
        report.update(outcome=str(result.outcome), reason=result.reason, steps=result.steps())
    if error:
        report["error"] = error
    report.update(notes)
    return report


def process_inbound(inbound_id: int, *, profile_id: int | None = None) -> str | None:
    """Process one captured message. Returns the outcome, or None when there was nothing to do."""
    message = claim(inbound_id)
    if message is None:
        return None
    previous = message.report if isinstance(message.report, dict) else {}
    attempts = int(previous.get("attempts", 0)) + 1
    profile: ProfileConfig | None = None
    try:
        if not message.raw_blob:
            return _finish(message, Outcome.ERROR, report_of(None, None, {}, attempts,
                           "the raw message was not stored, so it cannot be processed"))
        from jemh.storage import blob_storage

        raw = blob_storage().read_bytes(message.raw_blob)
        profile = profile_for(message, profile_id)
        parsed = parse(raw, config=classifier_config())
        ctx = build_context(instance_id=message.instance_id, raw=raw, parsed=parsed, profile=profile,
                            inbound=message, dry_run=False)
        result, notes = run(ctx)
        if parsed.error:
            notes["parse_notes"] = parsed.error
        return _finish(message, result.outcome, report_of(profile, result, notes, attempts))
    except (TemporaryTrackerError, OperationalError, InterfaceError, OSError) as exc:  # worth retrying
        reason = f"temporary problem: {redact(str(exc)) or type(exc).__name__}"
        outcome = Outcome.FAILED if attempts < MAX_ATTEMPTS else Outcome.ERROR
        if outcome == Outcome.ERROR:
            reason += f" (gave up after {attempts} attempts)"
        return _finish(message, outcome, report_of(profile, None, {}, attempts, reason))
    except (NoProfile, ProfileConfigError, TrackerError) as exc:
        return _finish(message, Outcome.ERROR, report_of(profile, None, {}, attempts, redact(str(exc))))
    except Exception as exc:  # a bug: record it for a human, never lose the message
        log.exception("processing inbound #%s failed", inbound_id)
        detail = redact("".join(traceback.format_exception_only(type(exc), exc)).strip())
        return _finish(message, Outcome.ERROR, report_of(profile, None, {}, attempts, f"unexpected error: {detail}"))


def _finish(message: InboundMessage, outcome: Outcome, report: dict[str, Any]) -> str:
    status = {Outcome.FAILED: InboundStatus.FAILED, Outcome.ERROR: InboundStatus.ERROR}.get(
        outcome, InboundStatus.PROCESSED)
    message.status = status
    message.outcome = str(outcome)
    message.report = report
    message.processed_at = timezone.now()
    fields = ["status", "outcome", "report", "processed_at", "updated_at"]
    if message.raw_retained_until_processed and status != InboundStatus.FAILED and message.raw_blob:
        from jemh.storage import blob_storage

        blob_storage().delete(message.raw_blob)  # the instance keeps no raw mail
        message.raw_blob = ""
        fields.append("raw_blob")
    message.save(update_fields=fields)
    return str(outcome)

