"""``jemh jira check|fields|resume --instance NAME``: an instance's tracker, checked from the command line.

``check``: reachable, deployment and version, authenticated as whom, and what the account may do in every project
the instance's mappings name. ``fields [--create]``: the custom fields the mail handler uses, created when asked.
``resume``: resume processing paused because the tracker refused the credentials (after fixing them).
Exit code 0 when everything works, 1 when a problem was found, 2 for an unknown instance.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from inbound.services import resume_processing
from inbound.tracker_setup import connection_report, create_missing_fields, fields_report
from jemh.models import Instance
from trackers.jira.check import Report

HELP = "check an instance's tracker: connection and permissions, custom fields (and create them), resume processing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="jira_command", required=True)
    for name, text in (
        ("check", "test the connection: reachable, version, authenticated as whom, permissions per project"),
        ("fields", "check the custom fields the mail handler uses"),
        ("resume", "resume processing paused because the tracker refused the credentials"),
    ):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--instance", required=True, help="the instance's name")
        if name == "fields":
            command.add_argument("--create", action="store_true", help="create the missing custom fields")


def _print(report: Report, out: TextIO) -> int:
    out.write("\n".join(report.lines()) + "\n")
    return 0 if report.ok else 1


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    instance = Instance.objects.filter(name=options["instance"]).first()
    if instance is None:
        names = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
        err.write(f"jemh jira: no instance {options['instance']!r} (instances: {names})\n")
        return 2
    command = options["jira_command"]
    if command == "check":
        return _print(connection_report(instance), out)
    if command == "fields":
        return _print(create_missing_fields(instance) if options.get("create") else fields_report(instance), out)
    if not instance.processing_paused:
        out.write(f"{instance.name}: processing is not paused\n")
        return 0
    report = connection_report(instance)
    if not report.authenticated:
        _print(report, out)
        err.write(f"jemh jira: {instance.name} stays paused: the tracker still refuses the credentials\n")
        return 1
    queued = resume_processing(instance)
    out.write(f"{instance.name}: processing resumed; {queued} waiting message(s) queued\n")
    return 0
