"""A subprocess helper for the fault tests: it works on the database the test's Celery workers share.

    python -m tests.faults.helper setup
    python -m tests.faults.helper record INSTANCE_ID FOLDER      (records FOLDER/*.eml in name order)
    python -m tests.faults.helper queue ID [ID ...] --group N     (queues process_messages groups)
    python -m tests.faults.helper sweep
    python -m tests.faults.helper age INSTANCE_ID SECONDS        (waiting rows made SECONDS older)
    python -m tests.faults.helper report INSTANCE_ID

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from pathlib import Path
from typing import Any


def setup(options: argparse.Namespace) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from jemh.models import Instance
    from profiles.models import CatchAddress, Profile, ProjectMapping
    from tests.pipeline.conftest import DEFAULT_MAPPING
    from trackers.models import Project

    users = get_user_model()
    users.objects.get_or_create(username="helpdesk", defaults={"email": "helpdesk@support.example.com"})
    instance = Instance.objects.create(name=f"Faults {uuid.uuid4().hex[:8]}")
    Project.objects.create(instance=instance, key="SUP", name="Support")
    profile = Profile.objects.create(instance=instance, name="Support", reply_address="support@support.example.com")
    ProjectMapping.objects.create(profile=profile, **DEFAULT_MAPPING)
    CatchAddress.objects.create(profile=profile, address="support@support.example.com")
    return {"instance_id": instance.pk, "profile_id": profile.pk, "name": instance.name}


def record(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.pipeline.testcases import record_test_message

    files = sorted(Path(options.folder).glob("*.eml"))
    return {"ids": [record_test_message(options.instance_id, path.read_bytes()).pk for path in files]}


def queue(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.pipeline.tasks import process_messages

    ids = options.ids
    groups = [ids[i : i + options.group] for i in range(0, len(ids), options.group)]
    for group in groups:
        process_messages.delay(group)
    return {"groups": len(groups)}


def sweep(options: argparse.Namespace) -> dict[str, Any]:
    from inbound.pipeline.tasks import resume_processing

    return {"queued": resume_processing()}


def age(options: argparse.Namespace) -> dict[str, Any]:
    """Make the instance's waiting rows look ``seconds`` older (the time the sweep waits for them has passed)."""
    from datetime import timedelta

    from django.db.models import F

    from inbound.models import InboundMessage, InboundStatus

    rows = InboundMessage.objects.filter(instance_id=options.instance_id, status=InboundStatus.RECEIVED)
    return {"aged": rows.update(updated_at=F("updated_at") - timedelta(seconds=options.seconds))}


def report(options: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count

    from inbound.models import InboundMessage
    from trackers.models import Comment, Issue

    rows = [
        {
            "pk": m.pk,
            "status": m.status,
            "outcome": m.outcome,
            "overruns": m.overruns,
            "claimed_by": m.claimed_by,
            "error": (m.report or {}).get("error", ""),
            "reason": (m.report or {}).get("reason", ""),
            "thread_wait": (m.report or {}).get("thread_wait", ""),
        }
        for m in InboundMessage.objects.filter(instance_id=options.instance_id).order_by("pk")
    ]
    issues = Issue.objects.filter(project__instance_id=options.instance_id)
    comments = Comment.objects.filter(issue__project__instance_id=options.instance_id)

    def doubled(queryset: Any) -> int:
        return queryset.values("source_message_id").annotate(n=Count("id")).filter(n__gt=1).count()

    return {
        "rows": rows,
        "issues": issues.count(),
        "comments": comments.count(),
        "doubled_issues": doubled(issues.filter(source_message_id__isnull=False)),
        "doubled_comments": doubled(comments.filter(source_message_id__isnull=False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup")
    make = sub.add_parser("record")
    make.add_argument("instance_id", type=int)
    make.add_argument("folder")
    send = sub.add_parser("queue")
    send.add_argument("ids", type=int, nargs="+")
    send.add_argument("--group", type=int, default=25)
    sub.add_parser("sweep")
    older = sub.add_parser("age")
    older.add_argument("instance_id", type=int)
    older.add_argument("seconds", type=float)
    show = sub.add_parser("report")
    show.add_argument("instance_id", type=int)
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jemh.settings")
    import django

    django.setup()
    commands = {"setup": setup, "record": record, "queue": queue, "sweep": sweep, "age": age, "report": report}
    print(json.dumps(commands[options.command](options)))


if __name__ == "__main__":
    main()
