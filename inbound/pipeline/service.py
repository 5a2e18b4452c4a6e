"""Processing one captured message: claim it, run the pipeline under its profile, act, record the outcome.

Safe to run twice and after a crash at any point: the claim skips finished messages, and every tracker
call carries the message's idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.utils import timezone

from inbound.flood import sender_hashes
from inbound.mime import ClassifierConfig, ParsedMessage, parse
from inbound.misconfiguration import noticed_while_processing
from inbound.models import InboundMessage, InboundStatus, Source, authserv_ids
from inbound.pipeline.chain import RunResult, StepFailed, run_chain
from inbound.pipeline.claims import budget_seconds, claim, message_budget, processing_order, release
from inbound.pipeline.context import Context, Mail
from inbound.pipeline.group import Group
from inbound.pipeline.lookups import DatabaseLookups
from inbound.pipeline.outcome import Outcome, issue_key_of
from inbound.pipeline.pause import pause
from inbound.pipeline.replies import forward_original, send_hint
from inbound.pipeline.thread_order import Wait, waits_for
from jemh import metrics
from jemh.logging import redact
from jemh.models import Instance
from jemh.rows import update_rows
from jemh.stages import stage
from jemh.storage import blob_storage, discard_blobs
from notifications.threading import own_message_id_domains
from profiles.config import ProfileConfig
from profiles.routing import MessageFacts
from profiles.services import NoProfile, ProfileConfigError, current_profile_config, processing_profile_id
from trackers.errors import AccessRefused, TemporaryTrackerError, TrackerError
from trackers.interface import Tracker
from trackers.registry import get_tracker

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # temporary failures before the message needs a human
MAX_THROTTLES = 100  # rate-limit refusals of a message that do not count as failed attempts
OVERRUN_LIMIT = 2  # time-budget overruns (or deaths of the worker holding it) before the message needs a human


def classifier_config() -> ClassifierConfig:
    return ClassifierConfig(own_message_id_domains=tuple(own_message_id_domains()))


def claim_many(inbound_ids: Sequence[int], *, redelivered: bool = False) -> list[InboundMessage]:
    """Claim the messages that are neither finished nor held by a live worker (see ``claims``); return them in
    processing order, loaded with their instance, source and the source profile's version."""
    claimed = claim(inbound_ids, redelivered=redelivered)
    if not claimed:
        return []
    return sorted(_load_claimed(claimed), key=processing_order)


# What processing never reads of the rows it loads (it reads the raw mail): left out, so they are not decrypted.
_UNREAD_MESSAGE_FIELDS = ("message_id", "subject")
_UNREAD_SOURCE_FIELDS = ("password", "oauth_access_token", "oauth_refresh_token", "last_error")


def _load_claimed(ids: list[int]) -> list[InboundMessage]:
    """The claimed messages with their instance and source, each instance and source loaded once."""
    messages = {m.pk: m for m in InboundMessage.objects.defer(*_UNREAD_MESSAGE_FIELDS).filter(pk__in=ids)}
    instances = Instance.objects.in_bulk({m.instance_id for m in messages.values()})
    sources = {
        s.pk: s
        for s in Source.objects.defer(*_UNREAD_SOURCE_FIELDS)
        .annotate(profile_version=F("profile__updated_at"))
        .filter(pk__in={m.source_id for m in messages.values() if m.source_id})
    }
    for message in messages.values():
        message.instance = instances[message.instance_id]
        if message.source_id in sources:
            message.source = sources[message.source_id]
            message.source_profile_version = message.source.profile_version  # type: ignore[attr-defined]
    return [messages[pk] for pk in ids if pk in messages]


def profile_for(message: InboundMessage, profile_id: int | None = None) -> ProfileConfig:
    """The given profile, else the source's profile; failing that, the instance's only enabled profile."""
    version = None
    if profile_id is None:
        source = message.source if message.source_id else None
        version = getattr(message, "source_profile_version", None) if source is not None else None
        profile_id = processing_profile_id(
            message.instance_id,
            source.profile_id if source is not None else None,
            source_name=source.name if source is not None else "(no source)",
        )
    return current_profile_config(profile_id, version)


def build_context(
    *,
    instance_id: int,
    raw: bytes,
    parsed: ParsedMessage,
    profile: ProfileConfig,
    inbound: InboundMessage | None,
    dry_run: bool,
    tracker: Tracker | None = None,
    group: Group | None = None,
) -> Context:
    facts = MessageFacts.from_parsed(parsed)
    instance = inbound.instance if inbound is not None else Instance.objects.get(pk=instance_id)
    if inbound is not None and isinstance(inbound.recipients, dict):
        envelope = [a for values in inbound.recipients.values() for a in (values or []) if isinstance(a, str)]
        facts = MessageFacts(
            facts.sender, tuple(dict.fromkeys((*facts.recipients, *envelope))), facts.subject, facts.headers
        )
    mail = Mail(
        instance_id=instance_id,
        message=parsed,
        raw=raw,
        facts=facts,
        inbound_id=inbound.pk if inbound is not None else None,
        sender_hash=inbound.sender_hash if inbound is not None else "",
        sender_hashes=sender_hashes(inbound) if inbound is not None else (),
        trusted_authserv_ids=trusted_authserv_ids(inbound, profile),
    )
    return Context(
        mail=mail,
        profile=profile,
        tracker=tracker or get_tracker(instance),
        lookups=DatabaseLookups(instance_id, group),
        now=timezone.now(),
        dry_run=dry_run,
    )


def trusted_authserv_ids(inbound: InboundMessage | None, profile: ProfileConfig) -> tuple[str, ...]:
    """The authserv-ids whose Authentication-Results the message's source trusts (none for a message without a
    source); a dry run (no message) is judged as mail from any of the profile's sources."""
    if inbound is None:
        if profile.id is None:
            return ()
        configured = Source.objects.filter(profile_id=profile.id).values_list("trusted_authserv_ids", flat=True)
        return tuple(dict.fromkeys(i for value in configured for i in authserv_ids(value)))
    source = inbound.source if inbound.source_id else None
    return authserv_ids(source.trusted_authserv_ids) if source is not None else ()


def run(ctx: Context) -> tuple[RunResult, dict[str, Any]]:
    """Run the chain and then what follows an outcome (forwarding, hints). Returns the result and notes."""
    with stage("pipeline"):
        result = run_chain(ctx)
    notes: dict[str, Any] = {}
    if ctx.dry_run:
        return result, notes
    if result.outcome == Outcome.FORWARDED:
        sent = forward_original(ctx, result.reason)
        if not sent:
            result = RunResult(
                Outcome.FILTERED,
                result.reason + "; no forward-to address configured: left for a human",
                result.verdicts,
            )
        notes["forwarded_to"] = sent
    if result.outcome == Outcome.REJECTED and ctx.decisions.hint is not None:
        notes["hint"] = send_hint(ctx)
    return result, notes


def parse_findings(parsed: ParsedMessage) -> dict[str, Any]:
    """What the parser says about the raw message, for the report: ``parse_notes`` when content was lost (a cap
    cut it, or it could not be read), ``parse_defects`` for damage repaired without loss (a missing final
    boundary, lines skipped before the header section)."""
    findings: dict[str, Any] = {}
    if parsed.error:
        findings["parse_notes"] = parsed.error
    if parsed.defects:
        findings["parse_defects"] = list(parsed.defects)
    return findings


def report_of(
    profile: ProfileConfig | None,
    result: RunResult | None,
    notes: dict[str, Any],
    attempts: int,
    error: str = "",
    failed: StepFailed | None = None,
    outcome: Outcome | None = None,
) -> dict[str, Any]:
    """The processing report: the outcome, its reason and every step's verdict; when a step failed, the steps
    that ran, the failing step's name and the (redacted) error."""
    report: dict[str, Any] = {"attempts": attempts}
    if profile is not None:
        report["profile"] = profile.name
    if result is not None:
        report.update(outcome=str(result.outcome), reason=result.reason, steps=result.steps())
    if failed is not None:
        report.update(failed_step=failed.step, steps=failed.steps(outcome or Outcome.ERROR))
    if error:
        report["error"] = error
    report.update(notes)
    return report


WAITING = "waiting"  # released to wait for the message it replies to (threads in order); retried shortly
RELEASED = "released"  # released unprocessed because the task ran out of time on another message; queue again
OVERRAN = "overran"  # ran past the time budget once (status failed): retry it alone
PAUSED = "paused"  # released unprocessed: the instance's processing is paused (the tracker refused its access)


class Paused:
    """The tracker refused the instance's credentials or permissions while processing a message (see ``pause``)."""

    def __init__(self, error: AccessRefused) -> None:
        self.error = error


def process_inbound(inbound_id: int, *, profile_id: int | None = None, redelivered: bool = False) -> str | None:
    """Process one captured message. Returns the outcome (or WAITING, RELEASED, OVERRAN, PAUSED), or None when there
    was nothing to do."""
    return process_inbound_group([inbound_id], profile_id=profile_id, redelivered=redelivered).get(inbound_id)


def process_inbound_group(
    inbound_ids: Sequence[int], *, profile_id: int | None = None, redelivered: bool = False
) -> dict[int, str]:
    """Process several captured messages as one unit of work: claimed together, run one by one with a shared
    tracker (its look-ups serve the whole group), each outcome committed as soon as it is known (a crash costs at
    most the message in hand). Returns what became of each message that was claimed (finished or held by a live
    worker elsewhere: absent): its outcome, or WAITING, RELEASED or OVERRAN (see above).

    A reply whose request is not processed yet is set aside and run after the group's other messages (its request
    is a later message of the group, or most likely done meanwhile by another worker); one still waiting then is
    released to wait (``thread_order``). A task that runs out of time
    (Celery's soft limit) counts an overrun for the message in hand and releases the rest."""
    messages = claim_many(inbound_ids, redelivered=redelivered)
    group = Group(messages, get_tracker)
    outcomes: dict[int, str] = {}
    pending = messages
    for second_pass in (False, True):
        later: list[InboundMessage] = []
        for index, message in enumerate(pending):
            if message.instance.processing_paused:  # paused by an earlier message of this group: leave it waiting
                release([message])
                outcomes[message.pk] = PAUSED
                continue
            try:
                with message_budget():
                    done = _process_claimed(message, group, profile_id)
            except SoftTimeLimitExceeded:
                rest = [*pending[index + 1 :], *later]
                outcomes[message.pk] = _overran(message)
                release(rest)
                outcomes.update(dict.fromkeys((m.pk for m in rest), RELEASED))
                return outcomes
            if isinstance(done, Paused):
                release([message])  # unprocessed, no attempt spent: it runs when the instance resumes
                pause(message.instance, str(done.error))
                outcomes[message.pk] = PAUSED
                continue
            if isinstance(done, Wait):
                if not second_pass:
                    # its request is a later message of this group, or one another worker has in hand: run it after
                    # the group's other messages (by then the other worker has most likely finished it)
                    release([message])  # (a kill meanwhile must not count it as the message in hand)
                    later.append(message)
                else:  # the worker that finishes its request runs it (thread_order.wake_waiting)
                    release([message], waiting_on=max(done.blockers))
                    outcomes[message.pk] = WAITING
                continue
            outcome, report = done
            _set_outcome(message, outcome, report)
            _save_finished([message])
            outcomes[message.pk] = str(outcome)
        if not later:
            break
        pending = claim_many([m.pk for m in later])
    return outcomes


def _overran(message: InboundMessage) -> str:
    """The message in hand when the task ran out of time: one more overrun; the second ends it in error."""
    message.overruns += 1
    previous = message.report if isinstance(message.report, dict) else {}
    attempts = int(previous.get("attempts", 0)) + 1
    limit = budget_seconds()[0]
    if message.overruns >= OVERRUN_LIMIT:
        error = f"processing took longer than {limit} s twice: left for a human"
        outcome = Outcome.ERROR
    else:
        error = f"processing took longer than {limit} s: retried alone"
        outcome = Outcome.FAILED
    _set_outcome(message, outcome, report_of(None, None, {}, attempts, error))
    _save_finished([message], extra=["overruns"])
    return str(outcome) if outcome == Outcome.ERROR else OVERRAN


def _process_claimed(
    message: InboundMessage, group: Group, profile_id: int | None
) -> tuple[Outcome, dict[str, Any]] | Wait | Paused:
    previous = message.report if isinstance(message.report, dict) else {}
    attempts = int(previous.get("attempts", 0)) + 1
    profile: ProfileConfig | None = None
    if message.overruns >= OVERRUN_LIMIT:  # in hand at two deaths of its worker
        error = "processing did not finish twice (its worker died or was killed past its time budget)"
        return Outcome.ERROR, report_of(None, None, {}, attempts, error)
    try:
        if not message.raw_blob:
            return Outcome.ERROR, report_of(
                None, None, {}, attempts, "the raw message was not stored, so it cannot be processed"
            )
        raw = blob_storage().read_bytes(message.raw_blob)
        profile = profile_for(message, profile_id)
        with stage("parse"):
            parsed = parse(raw, config=classifier_config())
        wait, waited = waits_for(message, parsed, timezone.now())
        if wait is not None:
            return wait
        ctx = build_context(
            instance_id=message.instance_id,
            raw=raw,
            parsed=parsed,
            profile=profile,
            inbound=message,
            dry_run=False,
            tracker=group.tracker(message.instance),
            group=group,
        )
        result, notes = run(ctx)
        notes.update(parse_findings(parsed))
        if waited:
            notes["thread_wait"] = waited
        return result.outcome, report_of(profile, result, notes, attempts)
    except SoftTimeLimitExceeded:
        raise
    except StepFailed as failed:
        if isinstance(failed.error, SoftTimeLimitExceeded):
            raise failed.error from None
        if isinstance(failed.error, AccessRefused):
            return Paused(failed.error)
        noticed_while_processing(message.instance, failed.error)
        attempts, retry = _throttling(failed.error, previous, attempts)
        outcome, error = classify_error(failed.error, attempts, message.pk)
        return outcome, report_of(profile, None, retry, attempts, error, failed=failed, outcome=outcome)
    except AccessRefused as exc:
        return Paused(exc)
    except Exception as exc:
        noticed_while_processing(message.instance, exc)
        attempts, retry = _throttling(exc, previous, attempts)
        outcome, error = classify_error(exc, attempts, message.pk)
        return outcome, report_of(profile, None, retry, attempts, error)


def _throttling(exc: BaseException, previous: dict[str, Any], attempts: int) -> tuple[int, dict[str, Any]]:
    """For a temporary tracker error: the attempts to count (a throttled refusal, made before any work, is not a
    failed attempt, up to MAX_THROTTLES of them) and what the report keeps: ``retry_in_s`` (the wait the tracker
    asked for, used as the retry's countdown) and ``throttled`` (refusals so far)."""
    if not isinstance(exc, TemporaryTrackerError):
        return attempts, {}
    notes: dict[str, Any] = {}
    if exc.retry_after is not None:
        notes["retry_in_s"] = round(max(0.0, exc.retry_after), 2)
    throttles = int(previous.get("throttled", 0))
    if exc.throttled:
        throttles += 1
        if throttles <= MAX_THROTTLES:
            attempts -= 1
    if throttles:
        notes["throttled"] = throttles
    return attempts, notes


def retry_delay(report: Any) -> float | None:
    """The countdown a failed message's report asks for (the tracker's ``Retry-After``), if any."""
    value = report.get("retry_in_s") if isinstance(report, dict) else None
    return float(value) if isinstance(value, int | float) else None


def classify_error(exc: Exception, attempts: int, inbound_id: int) -> tuple[Outcome, str]:
    """What an exception while processing a message ends in (retry or a human), and the redacted error."""
    if isinstance(exc, TemporaryTrackerError | OperationalError | InterfaceError | OSError):  # worth retrying
        reason = f"temporary problem: {redact(str(exc)) or type(exc).__name__}"
        outcome = Outcome.FAILED if attempts < MAX_ATTEMPTS else Outcome.ERROR
        if outcome == Outcome.ERROR:
            reason += f" (gave up after {attempts} attempts)"
        return outcome, reason
    if isinstance(exc, NoProfile | ProfileConfigError | TrackerError):
        return Outcome.ERROR, redact(str(exc))
    # a bug: record it for a human, never lose the message. Its text may quote the mail: the report names only
    # its type, the log (PII-hashing) has the rest.
    log.error("processing inbound #%s failed", inbound_id, exc_info=exc)
    return Outcome.ERROR, f"unexpected error: {type(exc).__name__} (the details are in the worker's log)"


_FINISH_FIELDS = [
    "status",
    "outcome",
    "report",
    "issue_key",
    "processed_at",
    "updated_at",
    "raw_blob",
    "claimed_by",
    "waiting_on",
    "waiting_since",
]


def _set_outcome(message: InboundMessage, outcome: Outcome, report: dict[str, Any]) -> None:
    message.status = {Outcome.FAILED: InboundStatus.FAILED, Outcome.ERROR: InboundStatus.ERROR}.get(
        outcome, InboundStatus.PROCESSED
    )
    message.outcome = str(outcome)
    message.report = report
    message.issue_key = issue_key_of(message.outcome, report)
    message.processed_at = message.updated_at = timezone.now()
    message.claimed_by = ""
    message.waiting_on = message.waiting_since = None
    metrics.count("jemh_inbound_processed", outcome=message.outcome)
    if message.received_at is not None and outcome != Outcome.FAILED:  # final outcomes: capture to the end
        latency = max((message.processed_at - message.received_at).total_seconds(), 0.0)
        metrics.observe("jemh_inbound_processing_latency_seconds", latency)


def _save_finished(messages: list[InboundMessage], extra: Sequence[str] = ()) -> None:
    """Record the outcomes (one UPDATE each), then remove the raw mail an instance does not keep (after the
    outcome is safe: a crash in between leaves an orphan blob, never a message without its mail).

    On PostgreSQL an outcome whose loss in a database crash would only mean processing the message again (every
    tracker write carries its idempotency key; no raw mail is removed; no forward or hint was sent) is committed
    without waiting for the WAL flush (``update_rows(wait_for_flush=False)``): one fsync per message saved, with
    the next durable commit flushing it anyway, and still one statement."""
    if not messages:
        return
    discard = [
        m.raw_blob
        for m in messages
        if m.raw_retained_until_processed and m.status != InboundStatus.FAILED and m.raw_blob
    ]
    for message in messages:
        if message.raw_blob in discard:
            message.raw_blob = ""
    side_effects = any("forwarded_to" in m.report or "hint" in m.report for m in messages if isinstance(m.report, dict))
    update_rows(messages, [*_FINISH_FIELDS, *extra], wait_for_flush=bool(discard or side_effects))
    messages.clear()
    discard_blobs(discard, "raw mail of a processed message")
