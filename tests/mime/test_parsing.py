"""Hand-written cases for each parsing rule."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbound.mime import Address, parse
from tests.mime.samples import tnef_blob


def msg(headers: str, body: bytes | str = b"hello\r\n") -> bytes:
    body = body.encode() if isinstance(body, str) else body
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_basic_fields() -> None:
    m = parse(
        msg(
            'From: "Doe, Jane" <jane@example.com>\nTo: bob@example.com (Bob Smith), carol@example.com\n'
            "Cc: =?utf-8?q?Ren=C3=A9?= <rene@example.com>\nReply-To: <help@example.com>\n"
            "Subject: Hello\nMessage-ID: <abc@example.com>\nIn-Reply-To: <parent@example.com>\n"
            "References: <one@example.com>\n <parent@example.com>\nDate: Tue, 1 Jul 2025 10:00:00 +0200\n"
            "Delivered-To: support@example.com\nX-Original-To: help@example.com\n"
        )
    )
    assert m.error is None
    assert m.from_ == Address("Doe, Jane", "jane@example.com")
    assert m.to == (Address("Bob Smith", "bob@example.com"), Address("", "carol@example.com"))
    assert m.cc == (Address("René", "rene@example.com"),)
    assert m.reply_to == (Address("", "help@example.com"),)
    assert m.message_id == "abc@example.com"
    assert m.in_reply_to == "parent@example.com"
    assert m.references == ("one@example.com", "parent@example.com")
    assert m.date == datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
    assert m.delivered_to == ("support@example.com", "help@example.com")
    assert m.body_text == "hello"


def test_rfc2047_words_join_and_folding() -> None:
    m = parse(msg("From: a@example.com\nSubject: =?utf-8?b?w6k=?=\n =?utf-8?q?t=C3=A9?= and =?iso-8859-1?q?caf=E9?=\n"))
    assert m.subject == "été and café"


def test_rfc2047_multibyte_split_across_words() -> None:
    encoded = base64.b64encode("日本".encode())
    first, second = encoded[:4].decode(), encoded[4:].decode()
    m = parse(msg(f"From: a@example.com\nSubject: =?utf-8?b?{first}?= =?utf-8?b?{second}?=\n"))
    assert m.subject == "日本"


def test_rfc2231_filename_with_continuations() -> None:
    body = (
        "--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment;\r\n filename*0*=utf-8''R%C3%A9sum;\r\n filename*1*=%C3%A9.pdf\r\n\r\n"
        "PDF\r\n--b--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n", body))
    assert [a.filename for a in m.attachments] == ["Résumé.pdf"]


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        ("gb2312", "中文邮件".encode("gb18030"), "中文邮件"),
        ("ks_c_5601-1987", "안녕하세요".encode("cp949"), "안녕하세요"),
        ("iso-8859-1", "“smart” quotes \u2013 €".encode("cp1252"), "“smart” quotes \u2013 €"),
        ("utf8", "naïve".encode(), "naïve"),
        ("x-unknown", "naïve".encode(), "naïve"),
        ("bogus-charset", "naïve".encode(), "naïve"),
    ],
)
def test_charsets_through_supersets(charset: str, data: bytes, text: str) -> None:
    m = parse(msg(f"From: a@example.com\nContent-Type: text/plain; charset={charset}\n", data))
    assert m.body_text == text


def test_undeclared_8bit_is_detected() -> None:
    text = "Привет, как дела? Это письмо без указанной кодировки, но в windows-1251."
    m = parse(msg("From: a@example.com\n", text.encode("cp1251")))
    assert "как дела" in m.body_text and "письмо без указанной" in m.body_text


def test_alternative_prefers_plain_and_sanitises_html() -> None:
    body = (
        "--a\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--a\r\nContent-Type: text/html\r\n\r\n"
        "<p onclick='x()'>html <script>alert(1)</script><img src='http://t.example/p.gif'>"
        "<img src='cid:logo@x'></p>\r\n--a--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/alternative; boundary=a\n", body))
    assert m.body_text == "plain text"
    assert "script" not in m.body_html and "onclick" not in m.body_html
    assert "t.example" not in m.body_html and 'src="cid:logo@x"' in m.body_html


def test_html_only_mail_becomes_readable_text() -> None:
    m = parse(msg("From: a@example.com\nContent-Type: text/html\n", "<div>Hello<br>world</div><ul><li>one</li></ul>"))
    assert m.body_text == "Hello\nworld\n\n- one"


def test_related_inline_image_by_content_id() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    body = (
        '--r\r\nContent-Type: text/html\r\n\r\n<img src="cid:img1@x">\r\n--r\r\nContent-Type: image/png\r\n'
        f"Content-ID: <img1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--r--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/related; boundary=r\n", body))
    (image,) = m.attachments
    assert image.inline and image.content_id == "img1@x" and image.content_type == "image/png"
    assert image.payload == b"\x89PNG fake" and image.sha256 == hashlib.sha256(b"\x89PNG fake").hexdigest()
    assert image.filename.startswith("attachment-1")


def test_forwarded_message_is_an_eml_attachment() -> None:
    inner = "From: x@example.com\r\nSubject: Original\r\n\r\ninner body\r\n"
    body = f"--m\r\nContent-Type: text/plain\r\n\r\nFYI\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n{inner}--m--\r\n"
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n", body))
    assert m.body_text == "FYI"
    assert [(a.filename, a.content_type) for a in m.attachments] == [("Original.eml", "message/rfc822")]


def test_uuencoded_body_block() -> None:
    import binascii

    line = binascii.b2a_uu(b"hello uu").decode()
    m = parse(msg("From: a@example.com\n", f"see file\r\nbegin 644 note.txt\r\n{line}`\r\nend\r\n"))
    assert m.body_text.strip() == "see file"
    assert [(a.filename, a.payload) for a in m.attachments] == [("note.txt", b"hello uu")]


def test_tnef_winmail_dat_is_expanded() -> None:
    blob = base64.encodebytes(tnef_blob({"report.txt": b"numbers", "photo.jpg": b"\xff\xd8jpg"})).decode()
    body = (
        "--t\r\nContent-Type: text/plain\r\n\r\n\r\n--t\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--t--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed; boundary=t\n", body))
    assert [(a.filename, a.content_type, a.payload) for a in m.attachments] == [
        ("report.txt", "text/plain", b"numbers"),
        ("photo.jpg", "image/jpeg", b"\xff\xd8jpg"),
    ]
    assert m.body_text == "Body from TNEF"


def test_signed_mail_keeps_content_and_drops_signature() -> None:
    body = (
        "--s\r\nContent-Type: text/plain\r\n\r\nsigned words\r\n--s\r\n"
        "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nSIG\r\n--s--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/signed; protocol=x; boundary=s\n", body))
    assert m.body_text == "signed words" and m.attachments == ()


def test_mbox_from_line_and_bare_lf() -> None:
    raw = b"From someone@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nSubject: lf\n\nline1\nline2\n"
    m = parse(raw)
    assert m.subject == "lf" and m.body_text == "line1\nline2" and m.error is None


def test_missing_boundary_parameter_is_guessed_and_missing_final_boundary_tolerated() -> None:
    body = "--zz\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--zz\r\nContent-Type: text/plain\r\n\r\nsecond"
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed\n", body))
    assert "first" in m.body_text and "second" in m.body_text
    # issue 16: repaired damage is a defect, not an error (nothing was lost)
    assert m.defects == ("missing boundary guessed", "missing final boundary") and m.error is None


def test_duplicated_and_broken_headers() -> None:
    raw = b"Subject: first\r\nSubject: second\r\nFrom: a@example.com\r\n: no name\r\nnot a header line\r\n\r\nbody"
    m = parse(raw)
    assert m.subject == "first"
    assert "not a header line" in m.body_text


def test_no_headers_at_all() -> None:
    m = parse(b"Just a body.\nNo headers.\n")
    # issue 16: the whole input is the body, nothing was lost: a defect, and error stays None
    assert m.defects == ("no header section",) and m.error is None and m.body_text.startswith("Just a body")


def test_multipart_without_parts_is_a_defect_read_as_text() -> None:
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n", "no delimiter here\n"))
    assert m.defects == ("multipart without parts read as text",) and m.error is None
    assert m.body_text == "no delimiter here"


def test_multipart_without_boundary_is_a_defect_read_as_text() -> None:
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed\n", "plain words\n"))
    assert m.defects == ("multipart without boundary read as text",) and m.error is None
    assert "plain words" in m.body_text


def test_caps_that_cut_content_stay_errors_not_defects() -> None:
    m = parse(
        b"Subject: x\r\n"
        + b"X-Pad: "
        + b"a" * 100
        + b"\r\n" * 1
        + b"".join(b"X-%d: v\r\n" % i for i in range(600))
        + b"\r\nbody"
    )
    assert m.error is not None and "truncated" in m.error and m.defects == ()


def test_well_formed_message_has_no_defects() -> None:
    m = parse(
        msg(
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n",
            "--zz\nContent-Type: text/plain\n\nhi\n--zz--\n",
        )
    )
    assert m.defects == () and m.error is None and m.to_dict()["defects"] == []


def test_to_dict_shape() -> None:
    record = parse(msg("From: a@example.com\nSubject: x\n")).to_dict()
    assert set(record) >= {
        "error",
        "message_id",
        "subject",
        "normalized_subject",
        "from",
        "to",
        "cc",
        "reply_to",
        "date",
        "in_reply_to",
        "references",
        "body_text",
        "body_html",
        "reply_text",
        "attachments",
        "classification",
    }
    assert set(record["classification"]) >= {
        "auto_reply",
        "bounce",
        "bounced_recipients",
        "bulk",
        "list",
        "spam",
        "loop",
        "reasons",
    }


def test_attachment_payload_not_in_equality_or_repr() -> None:
    from inbound.mime import Attachment

    a = Attachment("f", "text/plain", 1, False, "", "h", payload=b"a")
    b = Attachment("f", "text/plain", 1, False, "", "h", payload=b"b")
    assert a == b and "payload" not in repr(a)


def test_signature_parts_are_listed_with_a_flag_but_are_not_user_attachments() -> None:
    body = (
        "--s\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nsigned words\r\n"
        "--m\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment\r\n\r\n"
        "PDF\r\n--m--\r\n"
        "--s\r\nContent-Type: application/pgp-signature; name=signature.asc\r\n\r\n"
        "-----BEGIN PGP SIGNATURE-----\r\n--s--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/signed; protocol=x; boundary=s\n", body))
    assert [a.filename for a in m.attachments] == ["report.pdf"]
    listed = m.to_dict()["attachments"]
    assert [(a["filename"], a["content_type"], a["signature"]) for a in listed] == [
        ("report.pdf", "application/pdf", False),
        ("signature.asc", "application/pgp-signature", True),
    ]


@pytest.mark.parametrize("ctype", ["application/pkcs7-signature", "application/x-pkcs7-signature"])
def test_smime_signature_is_flagged_even_outside_multipart_signed(ctype: str) -> None:
    body = (
        "--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        f"--m\r\nContent-Type: {ctype}; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nU0lH\r\n--m--\r\n"
    )
    m = parse(msg("From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n", body))
    assert m.attachments == ()
    (signature,) = m.signatures
    assert (signature.filename, signature.signature, signature.size) == ("smime.p7s", True, 3)
    assert m.to_dict()["attachments"] == [signature.to_dict()]


def test_a_public_key_attachment_is_a_user_attachment_not_a_signature() -> None:
    # issue 16: application/pgp-keys (RFC 3156 §7) is a file the sender chose to attach; Thunderbird's "attach my
    # public key" writes it so (name OpenPGP_0x<id>.asc, "OpenPGP public key") inside the signed content
    body = (
        "--s\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nmy key is attached\r\n"
        '--m\r\nContent-Type: application/pgp-keys; name="OpenPGP_0x0123456789ABCDEF.asc"\r\n'
        'Content-Disposition: attachment; filename="OpenPGP_0x0123456789ABCDEF.asc"\r\n'
        "Content-Description: OpenPGP public key\r\n\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n--m--\r\n"
        '--s\r\nContent-Type: application/pgp-signature; name="OpenPGP_signature.asc"\r\n\r\nSIG\r\n--s--\r\n'
    )
    head = 'From: a@example.com\nContent-Type: multipart/signed; protocol="application/pgp-signature"; boundary=s\n'
    m = parse(msg(head, body))
    assert [(a.filename, a.signature) for a in m.attachments] == [("OpenPGP_0x0123456789ABCDEF.asc", False)]
    assert [(a.filename, a.signature) for a in m.signatures] == [("OpenPGP_signature.asc", True)]


@pytest.mark.parametrize(
    ("source", "signature"),
    [
        ("cpython/Lib/test/test_email/data/msg_45.txt", ("signature.asc", "application/pgp-signature")),
        ("django-helpdesk/tests/test_files/pgp.eml", ("signature.asc", "application/pgp-signature")),  # Thunderbird
        ("flanker/tests/fixtures/messages/signed.eml", ("smime.p7s", "application/x-pkcs7-signature")),
    ],
)
def test_real_signed_mail_lists_its_signature_and_keeps_it_out_of_attachments(
    shared_dir: Path, source: str, signature: tuple[str, str]
) -> None:
    m = parse((shared_dir / "corpora" / source).read_bytes())
    assert all(not a.signature for a in m.attachments) and signature not in [
        (a.filename, a.content_type) for a in m.attachments
    ]
    assert [(a.filename, a.content_type, a.signature) for a in m.signatures] == [(*signature, True)]
    assert m.to_dict()["attachments"][-1]["signature"] is True
