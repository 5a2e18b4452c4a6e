"""Test cases: run a stored raw message through a profile, as a dry run (nothing is created; the report says
what would happen) or for real (the message is recorded as an inbound message and processed)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from inbound.capture import record_without_source
from inbound.mime import parse
from inbound.models import InboundMessage
from inbound.pipeline.chain import StepFailed
from inbound.pipeline.service import (
    build_context,
    classifier_config,
    parse_findings,
    process_inbound,
    report_of,
    run,
)
from profiles.services import profile_config


def run_test_case(case: Any, *, dry_run: bool = True) -> dict[str, Any]:
    """Run ``case`` (a profiles.TestCase) and store the report on it. Returns the report."""
    profile = profile_config(case.profile)
    raw = case.raw_bytes
    if dry_run:
        parsed = parse(raw, config=classifier_config())
        ctx = build_context(
            instance_id=case.profile.instance_id, raw=raw, parsed=parsed, profile=profile, inbound=None, dry_run=True
        )
        try:
            result, notes = run(ctx)
            report = report_of(profile, result, {**notes, **parse_findings(parsed)}, attempts=0)
        except StepFailed as failed:  # the record of the steps that ran, and the one that failed
            error = f"step {failed.step} failed: {type(failed.error).__name__}"
            report = report_of(profile, None, {}, 0, error, failed=failed)
        report["dry_run"] = True
    else:
        message = record_test_message(case.profile.instance_id, raw)
        process_inbound(message.pk, profile_id=case.profile_id)
        message.refresh_from_db()
        report = dict(message.report)
        report.update(dry_run=False, inbound_id=message.pk)
    report["ran_at"] = timezone.now().isoformat()
    case.last_run_report = report
    case.save(update_fields=["last_run_report"])
    return report


def record_test_message(instance_id: int, raw: bytes) -> InboundMessage:
    """An audit row (no source) with the raw mail in the encrypting storage, ready for processing; made by capture
    itself, so its header facts and keyed hashes are exactly those of captured mail."""
    return record_without_source(instance_id, raw)
