"""Walking the MIME tree: which parts are the body, which are attachments, which are reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from inbound.mime.attachments import make_attachment
from inbound.mime.charsets import decode_text
from inbound.mime.headers import decode_words
from inbound.mime.model import Attachment
from inbound.mime.structure import Part
from inbound.mime.tnef import expand_tnef
from inbound.mime.uuencode import extract_uu_blocks

SIGNATURE_TYPES = frozenset(
    {
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-keys",
    }
)
REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
        "message/rfc822-headers",
    }
)
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


@dataclass(slots=True)
class Contents:
    """What the walk found, in document order."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    enclosed: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def attach(self, payload: bytes, filename: str, content_type: str, inline: bool, content_id: str) -> None:
        self.attachments.append(
            make_attachment(
                payload,
                filename=filename,
                content_type=content_type,
                inline=inline,
                content_id=content_id,
                index=len(self.attachments) + 1,
            )
        )


def part_text(part: Part) -> str:
    return decode_text(part.payload(), part.charset).replace("\r\n", "\n").replace("\r", "\n")


def collect(root: Part) -> Contents:
    contents = Contents()
    _walk(root, contents, parent="")
    return contents


def _walk(part: Part, out: Contents, parent: str) -> None:
    ctype = part.content_type
    if ctype.startswith("multipart/"):
        if not part.children:
            return
        if ctype == "multipart/alternative":
            _alternative(part, out)
        elif ctype in {"multipart/signed", "multipart/encrypted"}:
            for child in part.children:
                if child.content_type not in SIGNATURE_TYPES and child.content_type != "application/pgp-encrypted":
                    _walk(child, out, ctype)
        else:
            for child in part.children:
                _walk(child, out, ctype)
        return
    _leaf(part, out, parent)


def _alternative(part: Part, out: Contents) -> None:
    plain = [c for c in part.children if c.content_type == "text/plain" and not _is_attachment(c)]
    html = [c for c in part.children if c.content_type == "text/html" and not _is_attachment(c)]
    if plain:
        out.texts.append(part_text(plain[-1]))
    if html:
        out.htmls.append(part_text(html[-1]))
    for child in part.children:
        if child.content_type in {"text/plain", "text/html"} and not _is_attachment(child):
            continue
        if child.content_type.startswith("multipart/"):
            before = len(out.texts)
            _walk(child, out, part.content_type)
            if plain and len(out.texts) > before:  # a richer alternative repeats the plain text
                del out.texts[before:]
        else:
            _leaf(child, out, part.content_type)


def _is_attachment(part: Part) -> bool:
    if part.disposition == "attachment":
        return True
    return bool(part.filename) and part.disposition != "inline"


def _leaf(part: Part, out: Contents, parent: str) -> None:
    ctype = part.content_type
    if ctype in SIGNATURE_TYPES:
        return
    if ctype in REPORT_TYPES:
        out.reports.append(part_text(part))
        return
    if ctype in TNEF_TYPES or part.filename.lower() == "winmail.dat":
        _tnef(part, out)
        return
    if ctype in {"message/rfc822", "message/global"}:
        out.enclosed.append(part)
        subject = part.children[0].headers.get("Subject") if part.children else ""
        name = part.filename or (decode_words(subject)[:100] + ".eml" if subject else "")
        out.attach(
            bytes(part.raw_body()) if part.transfer_encoding not in {"base64", "quoted-printable"} else part.payload(),
            name,
            ctype,
            False,
            part.content_id,
        )
        return
    if ctype in {"text/plain", "text/html"} and not _is_attachment(part):
        text = part_text(part)
        if ctype == "text/html":
            out.htmls.append(text)
            return
        text, files = extract_uu_blocks(text)
        out.texts.append(text)
        for name, data in files:
            out.attach(data, name, "application/octet-stream", False, "")
        return
    payload = part.payload()
    inline = part.disposition == "inline" or (
        not part.disposition and bool(part.content_id) and parent == "multipart/related"
    )
    out.attach(payload, part.filename, ctype, inline, part.content_id)


def _tnef(part: Part, out: Contents) -> None:
    payload = part.payload()
    content = expand_tnef(payload)
    out.notes.extend(content.notes)
    if content.error:
        out.notes.append(content.error)
        out.attach(payload, part.filename or "winmail.dat", "application/ms-tnef", False, part.content_id)
        return
    if content.body_text.strip():
        out.texts.append(content.body_text)
    if content.body_html.strip():
        out.htmls.append(content.body_html)
    for name, data in content.files:
        out.attach(data, name, "", False, "")
