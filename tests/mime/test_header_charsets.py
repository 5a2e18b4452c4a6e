"""Raw 8-bit headers with no declaration: the charset is decided from evidence, strongest first."""

from __future__ import annotations

import pytest

from inbound.mime import parse
from inbound.mime.headers import split_entity


def message(subject: bytes, name: bytes, charset: bytes, multipart: bool) -> bytes:
    head = b"From: " + name + b" <sender@example.org>\r\nSubject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
    if multipart:  # the evidence is in a body part, not in the top-level header section
        return head + (
            b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset="
            + charset
            + b"\r\n\r\nbody\r\n--b--\r\n"
        )
    return head + b"Content-Type: text/plain; charset=" + charset + b"\r\n\r\nbody\r\n"


@pytest.mark.parametrize("multipart", [False, True])
@pytest.mark.parametrize(
    ("text", "codec", "declared"),
    [
        ("关于会议的通知", "gb18030", b"gb2312"),
        ("会議のお知らせ", "cp932", b"shift_jis"),
        ("회의 안내", "cp949", b"euc-kr"),
        ("Совещание завтра", "cp1251", b"windows-1251"),
        ("Zażółć gęślą jaźń", "cp1250", b"windows-1250"),
    ],
)
def test_undeclared_8bit_header_follows_the_bodys_declared_charset(
    text: str, codec: str, declared: bytes, multipart: bool
) -> None:
    parsed = parse(
        message(text.encode(codec), "Иван".encode(codec) if codec == "cp1251" else b"Ann", declared, multipart)
    )
    assert parsed.subject == text
    assert parsed.from_ is not None and parsed.from_.email == "sender@example.org"


@pytest.mark.parametrize("multipart", [False, True])
def test_declared_gb2312_is_read_as_its_superset_and_beats_the_detector(multipart: bool) -> None:
    # 镕 (U+9555) is in GBK/GB18030 but not in GB2312; alone, the detector misreads these bytes
    raw_subject = "朱镕基".encode("gbk")
    headers, _, _ = split_entity(b"Subject: " + raw_subject + b"\r\n\r\n", 0, 100)
    assert headers.get("Subject") != "朱镕基"
    assert parse(message(raw_subject, "张三".encode("gbk"), b"gb2312", multipart)).subject == "朱镕基"
    assert parse(message(raw_subject, "张三".encode("gbk"), b"gb2312", multipart)).from_.name == "张三"


def test_raw_utf8_header_stays_utf8_whatever_the_body_declares() -> None:
    # RFC 6532: 8-bit headers are UTF-8; a legacy body declaration must not turn them into mojibake
    assert parse(message("Grüße".encode(), b"Ann", b"iso-8859-1", True)).subject == "Grüße"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("关于会议的通知", "gb18030"),
        ("会議のお知らせについて", "cp932"),
        ("회의 안내 드립니다", "cp949"),
        ("Grüße aus Köln", "cp1252"),
    ],
)
def test_without_any_declaration_the_detector_decides(text: str, codec: str) -> None:
    headers, _, _ = split_entity(b"Subject: " + text.encode(codec) + b"\r\n\r\n", 0, 200)
    assert headers.get("Subject") == text


def test_raw_8bit_attachment_filename_follows_its_parts_charset() -> None:
    name = "报告.pdf".encode("gb18030")
    raw = (
        b"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=gb2312\r\n\r\nhi\r\n"
        b'--b\r\nContent-Type: application/pdf; name="' + name + b'"; charset=gb2312\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n"
    )
    assert [a.filename for a in parse(raw).attachments] == ["报告.pdf"]


def _with_attachment(name: bytes, body_charset: bytes | None) -> bytes:
    declared = b"; charset=" + body_charset if body_charset else b""
    return (
        b"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain" + declared + b"\r\n\r\nsee the file\r\n"
        b'--b\r\nContent-Type: application/octet-stream; name="' + name + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n"
    )


@pytest.mark.parametrize(
    ("text", "codec", "declared"),
    [
        ("会议纪要.docx", "gb18030", b"gb2312"),  # Foxmail and old Outlook in China: raw GBK names
        ("見積書.xls", "cp932", b"shift_jis"),
        ("견적서.hwp", "cp949", b"ks_c_5601-1987"),  # Outlook's label for Korean
        ("Отчёт.pdf", "cp1251", b"windows-1251"),
    ],
)
def test_undeclared_8bit_attachment_filename_follows_the_bodys_charset(text: str, codec: str, declared: bytes) -> None:
    # issue 16: the part declares no charset; as for headers, the body's declared charset is the evidence
    # (mail readers fall back to the message's charset for raw header bytes), read through its superset
    assert [a.filename for a in parse(_with_attachment(text.encode(codec), declared)).attachments] == [text]


def test_undeclared_8bit_filename_with_no_declaration_anywhere_is_detected() -> None:
    name = "Протокол совещания по бюджету.docx"
    assert [a.filename for a in parse(_with_attachment(name.encode("cp1251"), None)).attachments] == [name]


def test_us_ascii_body_is_no_evidence_for_8bit_bytes() -> None:
    # a body declaring US-ASCII says its text is 7-bit; it says nothing about 8-bit bytes in a name
    name = "Протокол совещания по бюджету.docx"
    assert [a.filename for a in parse(_with_attachment(name.encode("cp1251"), b"us-ascii")).attachments] == [name]


def test_raw_utf8_filename_cut_short_stays_utf8(shared_dir) -> None:
    # flanker tests/fixtures/messages/russian-attachment-yahoo.eml: Yahoo cut a long raw UTF-8 name in the middle of
    # a character under a body declaring us-ascii; flanker's broken_ctype_test expects the name with U+FFFD
    raw = (shared_dir / "corpora/flanker/tests/fixtures/messages/russian-attachment-yahoo.eml").read_bytes()
    (attachment,) = parse(raw).attachments
    assert attachment.filename == "Картинка с очень, очень длинным предлинным именем преименем таким чт\ufffd"  # noqa: RUF001
    assert attachment.content_type == "image/png"


def test_one_8bit_byte_is_too_little_for_a_detector() -> None:
    # flanker mailformed-headers.eml has a lone 0xB4 in To and Subject: the detector guessed HP Roman-8 ("Ç!")
    raw = b"From: a@example.org\r\nSubject: \xb4!\r\n\r\nbody\r\n"
    assert parse(raw).subject == "\u00b4!"  # windows-1252, the default for undeclared Latin text
