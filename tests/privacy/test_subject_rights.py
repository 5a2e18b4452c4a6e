"""privacy.md, "Rights of the people in the mail": admins can list everything held about one e-mail address and
erase it, leaving an erasure record that holds no personal data. A mailbox's worth of mail names a marker address in
every position (From, Cc, Reply-To, the body, an attachment's name, the e-mail-only fields); the export holds every
item; after the erasure no text column of any table and no blob (decrypted) holds the marker."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from auditing import subject
from auditing.flags import flag_message
from auditing.models import ErasureRecord
from inbound import services as inbound_services
from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import process_inbound
from jemh.crypto import keyed_hash
from jemh.models import Instance
from jemh.storage import blob_storage
from notifications.outbound import new_outbound
from profiles.models import Profile
from tests.pipeline.conftest import OUR_MTA, mail
from trackers.interface import ERASED_SENDER, REDACTED_TEXT
from trackers.models import Comment, Issue

pytestmark = pytest.mark.django_db

MARKER = "zqmark.person@customer.example"


@pytest.fixture()
def trusted_deliver(instance: Instance, profile: Profile) -> Callable[[bytes], InboundMessage]:
    source = Source.objects.create(
        instance=instance, name="pipe-trusted", kind=SourceKind.PIPE, profile=profile, trusted_authserv_ids=OUR_MTA
    )

    def run(raw: bytes) -> InboundMessage:
        message = capture(source, raw).message
        assert message is not None
        process_inbound(message.pk)
        message.refresh_from_db()
        return message

    return run


@pytest.fixture()
def seeded(trusted_deliver: Callable[[bytes], InboundMessage], instance: Instance, admin_user: Any) -> dict[str, Any]:
    """Mail naming the marker in every position, a reply (a comment it wrote), a test case, a support flag, a
    notification to it."""
    own = trusted_deliver(
        mail(
            sender=f"Zq Mark <{MARKER}>",
            subject="Printer on fire",
            body="The printer is on fire.",
            message_id="<seed-1@customer.example>",
            authenticated=True,
        )
    )
    cc = trusted_deliver(
        mail(sender="Olga Other <olga@other.example>", cc=MARKER, subject="Scanner", authenticated=True)
    )
    reply_to = trusted_deliver(
        mail(sender="Pete <pete@other.example>", headers={"Reply-To": MARKER}, subject="Fax", authenticated=True)
    )
    body = trusted_deliver(
        mail(sender="Quinn <quinn@other.example>", subject="Badge", body=f"Please also tell {MARKER} about it.")
    )
    named = trusted_deliver(
        mail(
            sender="Rita <rita@other.example>",
            subject="Logs",
            attachments=[(f"{MARKER}-log.txt", "text/plain", b"the log")],
        )
    )
    reply = trusted_deliver(
        mail(
            sender=MARKER,
            subject=f"Re: [{own.issue_key}] Printer on fire",
            body="It is still burning.",
            headers={"In-Reply-To": "<seed-1@customer.example>"},
            authenticated=True,
        )
    )
    messages = [own, cc, reply_to, body, named, reply]
    assert own.outcome == "created" and reply.outcome == "commented", [(m.outcome, m.report) for m in messages]
    made, _ = inbound_services.make_test_case(own)
    assert made
    flag_message(own, "customer asked", admin_user)
    saved: list[str] = []
    new_outbound(
        instance,
        raw=f"To: {MARKER}\r\nSubject: About your issue\r\n\r\nHello\r\n".encode(),
        recipient=MARKER,
        recipient_hash=keyed_hash(MARKER),
        subject="About your issue",
        message_id="<n-1@support.example.com>",
        saved_blobs=saved,
    ).save()
    return {"messages": messages, "own": own, "reply": reply}


def text_columns() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                found.append((model, field.attname))
    return found


def marker_anywhere() -> list[str]:
    """Every table column (decrypted, through the ORM) and every blob (decrypted) holding the marker."""
    hits = []
    for model, column in text_columns():
        for value in model._default_manager.values_list(column, flat=True):
            if MARKER in json.dumps(value, default=str).lower() or MARKER in str(value).lower():
                hits.append(f"{model._meta.db_table}.{column}")
    storage = blob_storage()
    for name in storage.walk():
        if MARKER.encode() in storage.read_bytes(name).lower():
            hits.append(f"blob {name}")
    return sorted(set(hits))


def test_an_address_is_exported_whole_then_erased_to_the_last_trace(
    seeded: dict[str, Any], instance: Instance, admin_user: Any
) -> None:
    assert marker_anywhere()  # the scan sees the marker before the erasure
    held = subject.find(instance, MARKER.upper())
    counts = held.counts()
    assert counts["inbound_messages"] == 6 and counts["raw_mails"] == 6
    assert counts["outbound_messages"] >= 1 and counts["test_cases"] == 1 and counts["support_flags"] == 1
    assert counts["issues_reported"] == 1 and counts["comments"] == 1
    assert counts["issues_participating"] >= 1  # the Cc'd address became a participant

    archive = zipfile.ZipFile(io.BytesIO(subject.export_zip([held])))
    manifest = json.loads(archive.read("manifest.json"))
    (part,) = manifest["instances"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in part["items"]:
        by_kind.setdefault(item["kind"], []).append(item)
    assert sorted(int(i["id"]) for i in by_kind["inbound_message"]) == sorted(m.pk for m in seeded["messages"])
    for item in by_kind["inbound_message"]:  # decrypted fields and the raw mail itself
        assert item["subject"] and item["report"]
        assert MARKER.encode() in archive.read(part["files_in"] + item["raw_mail"]).lower()
    assert any(MARKER in json.dumps(i["recipients"]).lower() for i in by_kind["outbound_message"])
    assert [i["role"] for i in by_kind["issue"]].count("e-mail-only reporter") == 1
    assert by_kind["comment"][0]["body"].startswith("It is still burning")
    assert len(by_kind["test_case"]) == 1 and len(by_kind["support_flag"]) == 1
    assert set(by_kind) >= {"inbound_message", "outbound_message", "issue", "comment", "test_case", "support_flag"}

    record = subject.erase(held, by=admin_user, redact_texts=True)
    assert marker_anywhere() == []
    # the audit rows stay as counts, personal fields cleared
    assert InboundMessage.objects.filter(pk__in=[m.pk for m in seeded["messages"]]).count() == 6
    own = InboundMessage.objects.get(pk=seeded["own"].pk)
    assert (own.subject, own.sender, own.recipients, own.raw_blob) == ("", "", {}, "")
    issue = Issue.objects.get(key=seeded["own"].issue_key, instance=instance)
    assert issue.summary == REDACTED_TEXT and issue.email_sender_address == ""
    assert Comment.objects.get(source_message_id=seeded["reply"].pk).author_name == ERASED_SENDER
    # the erasure record: who, when, counts, and nothing of the person
    assert record.erased_by_name == admin_user.get_username() and record.texts_redacted
    assert record.counts["inbound_messages"] == 6 and record.counts["raw_mails"] == 6
    stored = json.dumps([getattr(record, f.attname) for f in ErasureRecord._meta.concrete_fields], default=str)
    assert "zqmark" not in stored.lower() and keyed_hash(MARKER) not in stored
    # an erased address stays erased: looking it up again finds nothing
    assert sum(subject.find(instance, MARKER).counts().values()) == 0


def test_the_command_exports_and_erases(seeded: dict[str, Any], tmp_path: Any) -> None:
    target = tmp_path / "export.zip"
    out, err = io.StringIO(), io.StringIO()
    call_command("jemh", "subject", "export", MARKER, "--output", str(target), stdout=out, stderr=err)
    assert "wrote" in out.getvalue() and "inbound mail: " in err.getvalue()  # progress
    assert json.loads(zipfile.ZipFile(target).read("manifest.json"))["instances"][0]["counts"]["inbound_messages"] == 6
    call_command("jemh", "subject", "erase", MARKER, "--yes", stdout=out, stderr=err)
    assert "erased" in out.getvalue() and ErasureRecord.objects.count() == 1
    assert marker_anywhere() == []
