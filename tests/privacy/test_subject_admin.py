"""The admin's pages for one address, per instance: export (a zip) behind auditing.export_subject, erasure (with a
confirmation listing what goes, and the choice to redact the person's texts) behind auditing.erase_subject."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from auditing.models import ErasureRecord
from jemh.models import Instance
from tests.auditing.conftest import staff_user
from tests.privacy.test_subject_rights import MARKER, marker_anywhere, seeded, trusted_deliver
from trackers.interface import REDACTED_TEXT
from trackers.models import Issue

__all__ = ["seeded", "trusted_deliver"]
pytestmark = pytest.mark.django_db


def signed_in(*permissions: str) -> Client:
    client = Client()
    client.force_login(staff_user("dpo", "auditing.view_erasurerecord", *permissions))
    return client


def test_the_export_page_downloads_the_zip(seeded: dict[str, Any], instance: Instance) -> None:
    client = signed_in("auditing.export_subject")
    url = reverse("admin:auditing_erasurerecord_export", args=[instance.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"address": MARKER})
    assert response["Content-Type"] == "application/zip"
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("manifest.json"))
    assert manifest["instances"][0]["counts"]["inbound_messages"] == 6
    # exporting is not erasing
    assert client.get(reverse("admin:auditing_erasurerecord_erase", args=[instance.pk])).status_code == 403
    assert marker_anywhere()


def test_the_erase_page_asks_for_confirmation_then_erases(seeded: dict[str, Any], instance: Instance) -> None:
    client = signed_in("auditing.erase_subject")
    url = reverse("admin:auditing_erasurerecord_erase", args=[instance.pk])
    page = client.post(url, {"address": MARKER, "redact_texts": "on"})
    assert page.status_code == 200 and "6 inbound messages" in page.content.decode()
    assert not ErasureRecord.objects.exists() and marker_anywhere()  # nothing erased before the confirmation
    done = client.post(url, {"address": MARKER, "redact_texts": "on", "confirmed": "True"})
    record = ErasureRecord.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/{record.pk}/change/")
    assert record.erased_by_name == "dpo" and record.texts_redacted and marker_anywhere() == []
    assert Issue.objects.get(key=seeded["own"].issue_key, instance=instance).summary == REDACTED_TEXT
    assert client.get(done["Location"]).status_code == 200
