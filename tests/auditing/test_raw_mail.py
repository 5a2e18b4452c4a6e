"""Reading stored raw mail in the admin: only with ``auditing.view_raw_mail``; the text body, the sanitised HTML body
in a sandboxed frame under a strict CSP, attachments (listed with SHA-256, downloaded as octet-stream), the full
source and the ``.eml``; every read recorded and shown on the message's page."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from auditing.mailview import FRAME_CSP
from auditing.models import RawMailAccess, RawRead
from inbound.models import InboundMessage
from tests.auditing.conftest import hostile_mail, staff_user

pytestmark = pytest.mark.django_db
READER_PERMISSIONS = ("inbound.view_inboundmessage", "auditing.view_raw_mail")


def url(name: str, message: InboundMessage, *more: int) -> str:
    return reverse(f"admin:inbound_inboundmessage_{name}", args=[message.pk, *more])


@pytest.fixture()
def reader(client: Client, instance: Any) -> Client:
    client.force_login(staff_user("reader", *READER_PERMISSIONS))  # a member of the instance (made first)
    return client


@pytest.fixture()
def hostile(deliver: Callable[..., InboundMessage]) -> InboundMessage:
    message = deliver(hostile_mail())
    assert message.raw_blob
    return message


def test_raw_reads_need_the_view_raw_mail_permission(client: Client, hostile: InboundMessage) -> None:
    client.force_login(staff_user("viewer", "inbound.view_inboundmessage"))
    assert client.get(url("change", hostile)).status_code == 200
    page = client.get(url("change", hostile)).content.decode()
    assert url("mail", hostile) not in page  # no link without the permission
    pages: list[tuple[str, tuple[int, ...]]] = [
        ("mail", ()),
        ("mail_html", ()),
        ("mail_source", ()),
        ("mail_eml", ()),
        ("mail_attachment", (0,)),
    ]
    for name, more in pages:
        assert client.get(url(name, hostile, *more)).status_code == 403, name
    assert not RawMailAccess.objects.exists()


def test_raw_mail_page_shows_text_attachments_and_a_sandboxed_frame(reader: Client, hostile: InboundMessage) -> None:
    response = reader.get(url("mail", hostile))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please help, the printer is on fire." in page
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame and f'src="{url("mail_html", hostile)}"' in frame
    assert "allow-scripts" not in page and "srcdoc" not in frame
    assert "window.top.hostile" not in page and "evil.example" not in page  # the HTML never enters our page
    payload = b"%PDF-1.4 not really"
    assert "invoice.pdf" in page and "application/pdf" in page and hashlib.sha256(payload).hexdigest() in page
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert list(RawMailAccess.objects.values_list("what", "username")) == [(RawRead.MAIL, "reader")]


def test_html_frame_is_sanitised_and_served_under_a_strict_csp(reader: Client, hostile: InboundMessage) -> None:
    response = reader.get(url("mail_html", hostile))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == FRAME_CSP
    csp = {part.split()[0]: part.split()[1:] for part in FRAME_CSP.split("; ")}
    assert csp["default-src"] == ["'none'"] and "script-src" not in csp and csp["img-src"] == ["data:"]
    assert "sandbox" in csp and csp["frame-ancestors"] == ["'self'"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # our own page may frame it (the site default is DENY)
    html = response.content.decode()
    assert "Hello <b>support</b>" in html
    lowered = html.lower()
    for forbidden in ("<script", "onload", "onerror", "javascript:", "<iframe", "<link", "evil.example", "url("):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"\ssrc=", lowered)  # no image of the mail loads anything
    assert RawMailAccess.objects.get().what == RawRead.HTML


def test_attachment_source_and_eml_downloads_are_recorded(reader: Client, hostile: InboundMessage) -> None:
    attachment = reader.get(url("mail_attachment", hostile, 0))
    assert attachment.status_code == 200
    assert attachment["Content-Type"] == "application/octet-stream"
    assert attachment["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert attachment["X-Content-Type-Options"] == "nosniff"
    assert attachment.content == b"%PDF-1.4 not really"
    assert reader.get(url("mail_attachment", hostile, 7)).status_code == 404

    eml = reader.get(url("mail_eml", hostile))
    assert eml["Content-Type"] == "application/octet-stream"
    assert eml["Content-Disposition"] == f'attachment; filename="inbound-{hostile.pk}.eml"'
    assert eml.content == hostile_raw(hostile)

    source = reader.get(url("mail_source", hostile))
    page = source.content.decode()
    assert "Content-Type: multipart/alternative" in page or "multipart/mixed" in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # the source is shown, escaped
    reads = list(RawMailAccess.objects.order_by("pk").values_list("what", "detail"))
    assert reads == [(RawRead.ATTACHMENT, "invoice.pdf"), (RawRead.EML, ""), (RawRead.SOURCE, "")]


def test_message_page_lists_the_reads(reader: Client, hostile: InboundMessage) -> None:
    reader.get(url("mail_eml", hostile))
    page = reader.get(url("change", hostile)).content.decode()
    reads = page.split('id="jemh-raw-reads"')[1]
    assert "reader" in reads and ".eml download" in reads
    assert f'href="{url("mail", hostile)}"' in page  # the link to read it, with the permission


def test_mail_not_kept_answers_404_and_records_nothing(reader: Client, hostile: InboundMessage) -> None:
    InboundMessage.objects.filter(pk=hostile.pk).update(raw_blob="")
    assert "not stored" in reader.get(url("mail", hostile)).content.decode()
    assert reader.get(url("mail_eml", hostile)).status_code == 404
    assert reader.get(url("mail_html", hostile)).status_code == 404
    assert not RawMailAccess.objects.exists()


def hostile_raw(message: InboundMessage) -> bytes:
    from jemh.storage import blob_storage

    return blob_storage().read_bytes(message.raw_blob)


def test_download_names_lose_control_characters_and_paths() -> None:
    """A mail may name its attachment with line breaks or a path: the header must stay one safe line."""
    from auditing.mailview import download_response

    response = download_response(b"x", "../../etc/pass\r\nSet-Cookie: a=b.txt")
    assert response["Content-Disposition"] == 'attachment; filename="etcpassSet-Cookie: a=b.txt"'
    assert download_response(b"x", "\n")["Content-Disposition"] == 'attachment; filename="attachment.bin"'
    assert "filename*=utf-8''r%C3%A9sum%C3%A9.pdf" in download_response(b"x", "résumé.pdf")["Content-Disposition"]
