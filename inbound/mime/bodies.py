"""Walking the MIME tree: which parts are the body, which are attachments, which are reports."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from inbound.mime.attachments import make_attachment
from inbound.mime.charsets import codec_for, decode_text, detect_charset
from inbound.mime.headers import decode_words
from inbound.mime.limits import MAX_HTML_DECODED, MAX_TEXT_DECODED
from inbound.mime.model import Attachment
from inbound.mime.structure import Part
from inbound.mime.tnef import expand_tnef
from inbound.mime.uuencode import extract_uu_blocks

# Detached signatures (RFC 3156 §5 PGP/MIME, RFC 8551 §3.5.3 S/MIME, and the x- form of RFC 2311 §3.4 that
# older clients still write). A public key (application/pgp-keys, RFC 3156 §7) is a file the sender attached:
# it is a user attachment like any other.
SIGNATURE_TYPES = frozenset(
    {
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
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
    signatures: list[Attachment] = field(default_factory=list)  # signature parts: listed, never user files

    def sign(self, part: Part) -> None:
        payload = part.payload()
        self.signatures.append(
            make_attachment(
                payload,
                filename=part.filename,
                content_type=part.content_type,
                inline=False,
                content_id=part.content_id,
                index=len(self.attachments) + len(self.signatures) + 1,
                signature=True,
            )
        )

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


class CutText(str):
    """The start of a body part's text that was decoded only as far as the caps keep (at least the cap's
    characters after its leading line breaks); the part's whole text has more, not only whitespace."""


def part_text(part: Part, keep: int | None = None) -> str:
    """The part's text with line breaks made ``\n``. With ``keep``, a part whose text could be longer (its body has
    more bytes) is decoded only as far as ``keep`` characters past its leading line breaks (see :func:`kept_text`)."""
    if keep is not None and part.end - part.start > keep:  # no charset makes more characters than bytes
        kept = kept_text(part.payload_pieces, part.charset, keep)
        if kept is not None:
            return kept
    return _lines(decode_text(part.payload(), part.charset))


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def kept_text(pieces: Callable[[], Iterable[bytes]], declared: str | None, keep: int) -> str | None:
    """What ``part_text`` gives for the payload ``b"".join(pieces())``, decoded only as far as it is kept.

    The result is the whole text, or a :class:`CutText` holding its first characters, at least ``keep`` past
    the leading line breaks; "" for a text of only whitespace. The payload is read to its end (a piece at a time)
    because the charset chosen, as in :func:`~inbound.mime.charsets.decode_text`, depends on all of it: the
    declared one when all of it decodes, else UTF-8 when all of it does, else the declared one with replacement
    characters (undeclared: UTF-8, else the charset detected in its first 64 KiB, else cp1252). None when a
    uuencoded block may be in it (a line starts ``begin``): its files are found in the whole text only.
    """
    codec = codec_for(declared)
    strict = ([codec] if codec else []) + (["utf-8"] if codec != "utf-8" else [])
    for candidate in strict:
        result = _read(pieces, candidate, "strict", keep)
        if result is not _INVALID:
            return result  # type: ignore[return-value]
    if codec:
        result = _read(pieces, codec, "replace", keep)
        if result is not _UNKNOWN_CODEC:
            return result  # type: ignore[return-value]
    head = bytearray()
    for piece in pieces():
        head += piece[: 65536 - len(head)]
        if len(head) >= 65536:
            break
    detected = detect_charset(bytes(head))
    if detected:
        result = _read(pieces, detected, "replace", keep)
        if result is not _UNKNOWN_CODEC:
            return result  # type: ignore[return-value]
    return _read(pieces, "cp1252", "replace", keep)  # type: ignore[return-value]


_UU_STARTS = ("begin ", "begin-")
_UU_LINE = re.compile(r"^begin[ -]", re.MULTILINE)
_INVALID = object()  # the payload does not decode strictly
_UNKNOWN_CODEC = object()


def _read(pieces: Callable[[], Iterable[bytes]], codec: str, errors: str, keep: int) -> str | object | None:
    """The kept text of the payload in ``codec`` (see :func:`kept_text`), or _INVALID or _UNKNOWN_CODEC."""
    try:
        decoder = codecs.getincrementaldecoder(codec)(errors)
    except LookupError:
        return _UNKNOWN_CODEC
    kept = _Kept(keep)
    try:
        for piece in pieces():
            kept.add(decoder.decode(piece))
        kept.add(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return _INVALID
    return kept.result()


class _Kept:
    """Text arriving in pieces: line breaks made ``\n`` (a ``\r`` at a piece's end waits for the next piece), kept
    until ``keep`` characters past the leading line breaks, the rest only looked at."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.pieces: list[str] = []
        self.count = 0  # kept characters past the leading line breaks
        self.pending = ""
        self.content = False  # anything but whitespace seen
        self.cut = False
        self.uu = False  # a line starting "begin ": a uuencoded block may start there
        self.head = ""  # the start of the line the previous pieces ended in

    def add(self, text: str) -> None:
        text = self.pending + text
        self.pending = "\r" if text.endswith("\r") else ""
        if self.pending:
            text = text[:-1]
        self._take(_lines(text))

    def _take(self, text: str) -> None:
        if not text:
            return
        if not self.uu:
            self._look_for_uu(text)
        if not self.content and not text.isspace():
            self.content = True
        if self.count >= self.keep:
            self.cut = True
            return
        self.pieces.append(text)
        self.count += len(text.lstrip("\n")) if not self.count else len(text)

    def _look_for_uu(self, text: str) -> None:
        """A line starting ``begin `` or ``begin-`` may open a uuencoded block (see inbound.mime.uuencode)."""
        line_start = self.head + text[:7]
        first_break = text.find("\n")
        if line_start.startswith(_UU_STARTS) or (first_break >= 0 and _UU_LINE.search(text, first_break + 1)):
            self.uu = True
        last_break = text.rfind("\n")
        self.head = line_start[:7] if last_break < 0 else text[last_break + 1 : last_break + 8]

    def result(self) -> str | None:
        if self.pending:
            self._take("\n")
        if self.uu:
            return None
        if self.cut and not self.content:
            return ""
        text = "".join(self.pieces)
        return CutText(text) if self.cut else text


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
                if child.content_type in SIGNATURE_TYPES:
                    out.sign(child)
                elif child.content_type != "application/pgp-encrypted":
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
        out.texts.append(part_text(plain[-1], MAX_TEXT_DECODED))
    if html:
        out.htmls.append(part_text(html[-1], MAX_HTML_DECODED))
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
        out.sign(part)
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
        text = part_text(part, MAX_HTML_DECODED if ctype == "text/html" else MAX_TEXT_DECODED)
        if ctype == "text/html":
            out.htmls.append(text)
            return
        uncut, files = extract_uu_blocks(text)
        out.texts.append(CutText(uncut) if isinstance(text, CutText) else uncut)
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
