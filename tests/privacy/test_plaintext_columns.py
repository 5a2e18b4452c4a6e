"""privacy.md, "What is stored, where": subjects and addresses are encrypted; only the tracker's issue text and
e-mail-only fields (as the tracker stores them) may hold them in clear. Processes mail that carries marker
strings in every position, then scans every text column the database stores in clear."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from inbound.models import InboundMessage
from jemh.fields import EncryptedJSONField, EncryptedTextField

pytestmark = pytest.mark.django_db

NAME, LOCAL, SUBJECT = "Zyxmarker Person", "zyxmarker.person", "Zyxsubject about a printer"
# Where privacy.md allows personal data in clear: the tracker's issue and comment text, and e-mail-only fields
# "as the tracker stores them" (the local tracker is the tracker here).
ALLOWED = {
    ("trackers_issue", "summary"),
    ("trackers_issue", "description"),
    ("trackers_issue", "email_sender_address"),
    ("trackers_issue", "email_sender_name"),
    ("trackers_issue", "email_participants"),
    ("trackers_comment", "body"),
    ("trackers_comment", "author_email"),
    ("trackers_comment", "author_name"),
    ("trackers_attachment", "filename"),
}


def marked_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{NAME} <{LOCAL}@example.org>"
    mail["To"] = "support@support.example.com"
    mail["Cc"] = "Zyxcc Colleague <zyxmarker.cc@example.org>"
    mail["Reply-To"] = "zyxmarker.reply@example.org"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = "<zyxmarker-id@example.org>"
    mail.set_content(f"Hello, I am {NAME} ({LOCAL}@example.org) and the printer is on fire.")
    mail.add_attachment(b"log", maintype="text", subtype="plain", filename="zyxmarker-log.txt")
    return mail.as_bytes()


def clear_text_columns() -> list[tuple[type[models.Model], Any]]:
    found: list[tuple[type[models.Model], Any]] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField | EncryptedJSONField):
                continue
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                found.append((model, field))
    return found


def test_no_marker_in_a_clear_text_column_outside_the_tracker(deliver: Callable[..., InboundMessage]) -> None:
    message = deliver(marked_mail())
    assert message.outcome == "created"
    leaks, allowed = [], set()
    for model, field in clear_text_columns():
        table = model._meta.db_table
        for value in model._default_manager.values_list(field.attname, flat=True):
            text = str(value).lower()
            if "zyx" in text:
                if (table, field.column) in ALLOWED:
                    allowed.add((table, field.column))
                else:
                    leaks.append(f"{table}.{field.column}")
    assert sorted(set(leaks)) == []
    # the scan sees what it looks for: the markers are where the tracker keeps them
    assert ("trackers_issue", "summary") in allowed
