"""A processing report as an HTML table for the admin: one row per step (its description, verdict, reason and
details), the deciding step (the one that stopped processing, or failed) marked, issue keys linked.

Everything from the report is escaped by the template: reasons and details may quote the mail."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string

from inbound.pipeline.chain import DESCRIPTIONS

ISSUE_DETAILS = frozenset({"issue"})  # details naming an issue key
SUMMARY_KEYS = (
    "outcome",
    "reason",
    "failed_step",
    "error",
    "parse_notes",  # content the parser lost (a cap cut it, or it could not be read)
    "parse_defects",  # damage the parser repaired without loss ("missing final boundary")
    "profile",
    "attempts",
    "hint",
    "forwarded_to",
)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _summary_value(value: Any) -> str:
    """A summary value; a list of texts (the parse defects) as one line."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    return _value(value)


def report_rows(report: dict[str, Any], issue_url: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """The table's rows: step, description, verdict, reason, details as (name, value, url) and ``deciding``."""
    steps = [s for s in report.get("steps") or [] if isinstance(s, dict)]
    deciding = max((i for i, s in enumerate(steps) if s.get("outcome")), default=None)
    rows = []
    for index, step in enumerate(steps):
        details = step.get("details")
        shown = []
        if not isinstance(details, dict):
            details = {}
        for name, value in details.items():
            url = issue_url(value) if issue_url and name in ISSUE_DETAILS and isinstance(value, str) else ""
            shown.append((name, _value(value), url))
        name = str(step.get("step", ""))
        rows.append(
            {
                "step": name,
                "description": DESCRIPTIONS.get(name, ""),
                "verdict": str(step.get("outcome") or "go on"),
                "reason": str(step.get("reason", "")),
                "details": shown,
                "deciding": index == deciding,
            }
        )
    return rows


def report_table(report: Any, issue_url: Callable[[str], str] | None = None) -> str:
    """The report as a table (and a line with its outcome, error and notes); safe HTML, escaped by the template."""
    report = report if isinstance(report, dict) else {}
    summary = [(key, _summary_value(report[key])) for key in SUMMARY_KEYS if key in report]
    return render_to_string("inbound/report_table.html", {"rows": report_rows(report, issue_url), "summary": summary})
