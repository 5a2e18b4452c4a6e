"""Messages built for tests and the benchmark: hostile shapes, TNEF blobs, a large attachment."""

from __future__ import annotations

import base64
import struct


def big_subject(size: int = 200_000) -> bytes:
    """A Subject of thousands of RFC 2047 encoded words, folded, about ``size`` bytes long."""
    word = "=?utf-8?q?caf=C3=A9_bar?="
    count = size // (len(word) + 3)
    subject = "\r\n ".join([word] * count)
    return (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n").encode()


def nested_parts(count: int = 3000) -> bytes:
    """A message of ``count`` multipart entities nested inside each other."""
    head = [b"From: a@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"]
    tail: list[bytes] = []
    for level in range(count):
        head.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode())
        tail.append(f"\r\n--b{level}--\r\n".encode())
    head.append(b"Content-Type: text/plain\r\n\r\ndeep text")
    return b"".join(head) + b"".join(reversed(tail))


def many_parts(count: int = 3000) -> bytes:
    """A message of ``count`` sibling parts."""
    parts = [
        f'--sib\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="f{i}.txt"\r\n\r\n'
        f"part {i}\r\n".encode()
        for i in range(count)
    ]
    return (
        b"From: a@example.com\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=sib\r\n\r\n"
        + b"".join(parts)
        + b"--sib--\r\n"
    )


def huge_headers(size: int = 4_000_000) -> bytes:
    """A header section of ``size`` bytes of junk fields before a tiny body."""
    line = b"X-Junk: " + b"j" * 60 + b"\r\n"
    return b"From: a@example.com\r\nSubject: headers\r\n" + line * (size // len(line)) + b"\r\nbody\r\n"


def big_attachment(size: int = 25 * 1024 * 1024) -> bytes:
    """A message with one base64 attachment of ``size`` bytes."""
    payload = base64.encodebytes(bytes(range(256)) * (size // 256))
    return (
        b"From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
        b"--xx\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=big.bin\r\n\r\n" + payload + b"--xx--\r\n"
    )


def _tnef_attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def tnef_blob(files: dict[str, bytes], body: bytes = b"Body from TNEF") -> bytes:
    """A minimal TNEF stream (as Outlook writes in winmail.dat) with a body and attachments."""
    out = [struct.pack("<IH", 0x223E9F78, 1), _tnef_attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))]
    out.append(_tnef_attribute(1, 0x800C, 0x0002, body))
    for name, data in files.items():
        out.append(_tnef_attribute(2, 0x9002, 0x0006, b"\x00" * 14))
        out.append(_tnef_attribute(2, 0x8010, 0x0001, name.encode() + b"\x00"))
        out.append(_tnef_attribute(2, 0x800F, 0x0006, data))
    return b"".join(out)


def uu_begin_lines(size: int = 94_000) -> bytes:
    """A text body of ``size`` bytes of uuencode ``begin`` lines closed by one ``end`` (issue 16: 18 s)."""
    line = b"begin 644 file.txt\r\n"
    return b"From: a@example.com\r\nSubject: uu\r\n\r\n" + line * (size // len(line)) + b"end\r\n"


def nested_divs(size: int = 300_000) -> bytes:
    """An HTML body of about ``size`` bytes of ``<div>`` nested in each other (issue 16: 12-179 s in nh3)."""
    count = size // 11
    html = b"<div>" * count + b"deep" + b"</div>" * count
    return b"From: a@example.com\r\nSubject: divs\r\nContent-Type: text/html\r\n\r\n" + html


def tiny_tnef_objects(size: int = 2_000_000) -> bytes:
    """A winmail.dat of about ``size`` bytes of tiny TNEF attributes, each starting an attachment (issue 16: 7.8 s)."""
    one = _tnef_attribute(2, 0x9002, 0x0006, b"\x00")
    blob = struct.pack("<IH", 0x223E9F78, 1) + one * (size // len(one))
    return (
        b"From: a@example.com\r\nSubject: tnef\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
        b"--xx\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--xx\r\nContent-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=winmail.dat\r\n\r\n" + base64.encodebytes(blob) + b"--xx--\r\n"
    )


def bang_bounce(size: int = 97_000) -> bytes:
    """A bounce whose text has a run of ``size`` "!" (every one an address character; issue 16: 13 s)."""
    return (
        b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n"
        b"This is the mail system at host example.com.\r\n\r\nYour message could not be delivered to\r\n"
        b"user " + b"!" * size + b"\r\n"
    )


def stray_header_lines(size: int = 1_000_000) -> bytes:
    """Header sections that make the header recovery look ahead as far as it may: every part has a stray line
    followed by the rest of a long header section, and blank and junk lines lead the message."""
    part = b"--b\r\nContent-Type: text/plain\r\nnot a header\r\n" + b"X-A: b\r\n" * 400 + b"\r\nbody\r\n"
    head = b"\r\n" * 50 + b"junk\r\n" * 5 + b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    return head + part * max(1, size // len(part)) + b"--b--\r\n"
