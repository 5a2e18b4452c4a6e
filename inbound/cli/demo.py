"""``jemh demo``: seed a working demo, so a newcomer sees every admin page populated.

It makes (or finds, by name: running it again changes nothing) an instance on the built-in local tracker, a
project, a profile with a complete default mapping, a Maildir source under ``var/demo-maildir``, a notification
mapping (acknowledgements on), and delivers a few sample messages into the Maildir, which are captured, processed
and notified at once (outbound mail goes wherever ``EMAIL_URL`` says: ``var/outbox/`` by default).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from inbound.models import InboundMessage, ReadStrategy, Source, SourceKind
from inbound.retrieval import poll
from jemh.models import Instance, TrackerKind
from notifications.batching import flush_due
from notifications.models import NotificationMapping
from notifications.tasks import send_and_reschedule
from profiles.models import CatchAddress, Profile, ProjectMapping
from trackers.models import Project

HELP = "seed a working demo (local tracker, project, profile, Maildir source, sample mail); safe to run again"

INSTANCE = "Demo"
ADDRESS = "support@demo.invalid"
MTA = "mx.demo.invalid"  # the demo's mail server: the source trusts its Authentication-Results, as yours should
DEFAULT_MAPPING = {
    "name": "Default",
    "is_default": True,
    "project_key": "SUP",
    "issue_type": "Task",
    "priority": "Medium",
    "default_summary": "(no subject)",
    "reporter_strategy": "sender",
    "default_reporter": "demo-helpdesk",
    "assignee_strategy": "unassigned",
    "operating_mode": "create_and_comment",
    "unknown_sender_action": "email_only",
    "addressee_handling": "participants",
}
SAMPLES = (
    (
        "Carol Customer <carol@customer.invalid>",
        "The printer is on fire",
        "Hello,\n\nthe printer on floor 2 is on fire.\n",
    ),
    ("Dan Doe <dan@customer.invalid>", "Cannot log in", "Hi,\n\nmy password stopped working this morning.\n"),
    (
        "Erin Example <erin@customer.invalid>",
        "Invoice 2026-117",
        "Hello,\n\nthe invoice lists two licences; we have one.\n",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--maildir", help="the demo Maildir (default: var/demo-maildir)")


def _maildir(path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _sample(sender: str, subject: str, body: str, index: int) -> bytes:
    message = EmailMessage()
    domain = sender.rpartition("@")[2].rstrip(">")
    # as the MTA writes it after checking the mail: authenticated senders act as themselves and hear back
    message["Authentication-Results"] = f"{MTA}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
    message["From"] = sender
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(f"demo-sample-{index}", domain="customer.invalid")
    message.set_content(body)
    return message.as_bytes()


def seed(maildir: Path, out: TextIO) -> dict[str, Any]:
    """Make the demo (what exists already is kept) and return what it is made of."""
    users = get_user_model()
    helpdesk, _ = users.objects.get_or_create(
        username="demo-helpdesk", defaults={"email": "helpdesk@demo.invalid", "first_name": "Demo helpdesk"}
    )
    instance, made = Instance.objects.get_or_create(name=INSTANCE, defaults={"tracker_kind": TrackerKind.LOCAL})
    if made:
        instance.admins.set(users.objects.filter(is_superuser=True).exclude(email=""))
    project, _ = Project.objects.get_or_create(
        instance=instance, key="SUP", defaults={"name": "Support", "lead": helpdesk}
    )
    profile, made = Profile.objects.get_or_create(
        instance=instance, name="Demo support", defaults={"reply_address": ADDRESS}
    )
    if made:
        ProjectMapping.objects.create(profile=profile, **DEFAULT_MAPPING)
        CatchAddress.objects.create(profile=profile, address=ADDRESS)
    source, _ = Source.objects.get_or_create(
        instance=instance,
        name="demo-maildir",
        defaults={
            "kind": SourceKind.MAILDIR,
            "profile": profile,
            "maildir_path": str(_maildir(maildir)),
            "read_strategy": ReadStrategy.MARK_READ,
            "trusted_authserv_ids": MTA,
        },
    )
    _maildir(Path(source.maildir_path))
    NotificationMapping.objects.get_or_create(
        instance=instance, name="Everyone on the issue", defaults={"acknowledge_requester": True}
    )
    if not InboundMessage.objects.filter(instance=instance).exists():
        for index, (sender, subject, body) in enumerate(SAMPLES, start=1):
            (Path(source.maildir_path) / "new" / f"demo-sample-{index}.eml").write_bytes(
                _sample(sender, subject, body, index)
            )
        out.write(f"  delivered {len(SAMPLES)} sample messages into {source.maildir_path}/new\n")
    with override_settings(JEMH_PROCESS_INLINE=True):
        result = poll(source, force=True)
    out.write(f"  polled the Maildir source: {result.status} {result.detail}\n".rstrip() + "\n")
    flushed = flush_due(now=timezone.now() + timedelta(days=1))  # the batch window is for people, not a demo
    if flushed.outbound_ids:
        send_and_reschedule(flushed.outbound_ids, flushed.prepared)
    return {"instance": instance, "project": project, "profile": profile, "source": source}


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    maildir = Path(options.get("maildir") or Path(settings.VAR_DIR) / "demo-maildir").resolve()
    out.write("==> seeding the demo\n")
    made = seed(maildir, out)
    processed = InboundMessage.objects.filter(instance=made["instance"]).count()
    out.write(
        f"Demo ready: instance {made['instance'].name!r} (local tracker), project {made['project'].key}, profile "
        f"{made['profile'].name!r}, Maildir source {made['source'].maildir_path} ({processed} messages so far).\n"
        f"Drop more mail into {made['source'].maildir_path}/new (To: {ADDRESS}); the worker polls it every minute.\n"
    )
    return 0
