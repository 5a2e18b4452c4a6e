"""A subprocess helper for the Jira end-to-end tests, on the database the test's Celery workers share.

    python -m tests.faults.jira_helper setup BASE_URL FLAVOUR DEFAULT_REPORTER HOST PORT USER PASSWORD
    python -m tests.faults.jira_helper poll SOURCE_ID        (captures the mailbox; processing is queued on commit)
    python -m tests.faults.jira_helper report INSTANCE_ID
    python -m tests.faults.jira_helper webhook INSTANCE_ID ISSUE_KEY  (what a Jira webhook about the issue does on
                                                                    intake: the backend's kept state is forgotten)

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from typing import Any


def setup(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.models import Security, Source, SourceKind
    from jemh.models import Instance, JiraDeployment, TrackerKind
    from profiles.models import CatchAddress, Profile, ProjectMapping, WorkflowAdvanceRule
    from tests.pipeline.conftest import DEFAULT_MAPPING
    from tests.trackers.jira_fake import FakeJira

    cloud = options.flavour == "cloud"
    instance = Instance.objects.create(
        name=f"Jira e2e {uuid.uuid4().hex[:8]}",
        tracker_kind=TrackerKind.JIRA,
        base_url=options.base_url,
        jira_deployment=JiraDeployment.CLOUD if cloud else JiraDeployment.DATA_CENTER,
        jira_email=FakeJira.EMAIL if cloud else "",
        jira_api_token=FakeJira.API_TOKEN if cloud else "",
        jira_pat="" if cloud else FakeJira.PAT,
        jira_max_concurrency=4,
    )
    profile = Profile.objects.create(instance=instance, name="Support", reply_address="support@support.example.com")
    ProjectMapping.objects.create(profile=profile, **{**DEFAULT_MAPPING, "default_reporter": options.reporter})
    CatchAddress.objects.create(profile=profile, address="support@support.example.com")
    WorkflowAdvanceRule.objects.create(profile=profile, from_status="Resolved", to_status="Open")
    source = Source.objects.create(
        instance=instance,
        name="jira-e2e",
        kind=SourceKind.IMAP,
        host=options.host,
        port=options.port,
        security=Security.NONE,
        username=options.user,
        password=options.password,
        profile=profile,
        trusted_authserv_ids="mx.support.example.com",  # our MTA (tests.pipeline.conftest.OUR_MTA)
    )
    return {"instance_id": instance.pk, "source_id": source.pk}


def poll(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.retrieval import poll as poll_source

    result = poll_source(options.source_id, force=True)
    return {"status": result.status, "detail": result.detail}


def report(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.models import InboundMessage

    rows = [
        {
            "pk": m.pk,
            "status": m.status,
            "outcome": m.outcome,
            "issue_key": m.issue_key,
            "error": (m.report or {}).get("error", ""),
            "reason": (m.report or {}).get("reason", ""),
            "throttled": (m.report or {}).get("throttled", 0),
            "attempts": (m.report or {}).get("attempts", 0),
        }
        for m in InboundMessage.objects.filter(instance_id=options.instance_id).order_by("pk")
    ]
    return {"rows": rows}


def webhook(options: argparse.Namespace) -> dict[str, Any]:
    from trackers.jira.issue_state import forget_issue

    forget_issue(options.instance_id, options.issue_key)
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("setup")
    for name in ("base_url", "flavour", "reporter", "host"):
        make.add_argument(name)
    make.add_argument("port", type=int)
    make.add_argument("user")
    make.add_argument("password")
    sub.add_parser("poll").add_argument("source_id", type=int)
    sub.add_parser("report").add_argument("instance_id", type=int)
    hook = sub.add_parser("webhook")
    hook.add_argument("instance_id", type=int)
    hook.add_argument("issue_key")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    import django

    django.setup()
    commands = {"setup": setup, "poll": poll, "report": report, "webhook": webhook}
    print(json.dumps(commands[options.command](options)))


if __name__ == "__main__":
    main()
