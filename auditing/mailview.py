"""Stored mail made safe to read, for the admin's raw-mail pages and the support views alike.

The mail is understood by ``inbound.mime.parse``, whose HTML body is already sanitised by the project's nh3
sanitiser (no scripts, event handlers, executable styles or remote images). That HTML is never put into a page of
ours: it is served on its own URL as a document of its own (:func:`frame_response`), with a Content-Security-Policy
that forbids every script and every load from anywhere (only inline styles and ``data:`` images), and shown in an
``<iframe sandbox>`` without ``allow-scripts`` or ``allow-same-origin`` (:func:`sandboxed_frame`). Either alone stops
a script; together they also stop a remote image, a form or a navigation out of the frame.

Attachments are served as ``application/octet-stream`` with ``Content-Disposition: attachment`` and ``nosniff``, so
the browser never renders one, whatever it claims to be.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString

from inbound.mime import parse
from inbound.mime.model import Attachment, ParsedMessage

# The frame's document may apply its own inline styles and show inline (data:) images; nothing else, from nowhere.
FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox"
)
SUMMARY_HEADERS = frozenset({"from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to"})
FRAME_STYLE = "width:100%;min-height:360px;border:1px solid #ccc;background:#fff"
_FRAME_DOCUMENT = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
    "<style>body{{font-family:sans-serif;margin:8px;overflow-wrap:anywhere}}</style></head><body>{}</body></html>"
)


@dataclass(frozen=True)
class AttachmentRow:
    """One attachment as listed: its position (the download's index), name, type, size and SHA-256."""

    index: int
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool


@dataclass(frozen=True)
class MailView:
    """A stored message split for reading: headers, text body, sanitised HTML body, attachments, full source."""

    parsed: ParsedMessage
    raw: bytes

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return self.parsed.headers

    @property
    def summary(self) -> list[tuple[str, str]]:
        """The headers a reader looks at first, as the mail wrote them."""
        return [(name, value) for name, value in self.parsed.headers if name.lower() in SUMMARY_HEADERS]

    @property
    def text(self) -> str:
        return self.parsed.body_text

    @property
    def html(self) -> str:
        """The HTML body, sanitised (see the module's docstring); serve it with :func:`frame_response` only."""
        return self.parsed.body_html

    @property
    def attachments(self) -> list[AttachmentRow]:
        return [
            AttachmentRow(i, a.filename or "(unnamed)", a.content_type, a.size, a.sha256, a.inline)
            for i, a in enumerate(self.parsed.attachments)
        ]

    def attachment(self, index: int) -> Attachment | None:
        return self.parsed.attachments[index] if 0 <= index < len(self.parsed.attachments) else None

    @property
    def source(self) -> str:
        """The full source as text (undecodable bytes shown as U+FFFD); escape it when showing it."""
        return self.raw.decode("utf-8", "replace")


def mail_view(raw: bytes) -> MailView:
    """The stored message ``raw`` split for reading (never raises: damaged mail shows what could be read)."""
    return MailView(parse(raw), raw)


def sandboxed_frame(url: str, title: str = "HTML body") -> SafeString:
    """The iframe showing the HTML body served at ``url``: sandboxed with no permission at all (no scripts, no
    same-origin, no forms, popups or top navigation), and sending no referrer."""
    return format_html(
        '<iframe class="jemh-mail-html" sandbox="" referrerpolicy="no-referrer" src="{}" title="{}" '
        'style="{}"></iframe>',
        url,
        title,
        FRAME_STYLE,
    )


def no_store(response: HttpResponse) -> HttpResponse:
    """Decrypted mail is never kept by a browser's or a proxy's cache, nor sniffed into another type."""
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def frame_response(html: str) -> HttpResponse:
    """The document of the sandboxed frame: the sanitised ``html`` under the strict policy of ``FRAME_CSP``. Only
    our own pages may frame it (X-Frame-Options SAMEORIGIN; the view must not be left to the DENY default)."""
    response = HttpResponse(format_html(_FRAME_DOCUMENT, SafeString(html)), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = FRAME_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"
    return no_store(response)


def _disposition(filename: str) -> str:
    """``attachment`` with the file's name as the mail gave it, less what a header or a file system cannot take
    (control characters, path separators)."""
    name = "".join(ch for ch in filename if ch.isprintable() and ch not in "/\\").strip(" .") or "attachment.bin"
    return content_disposition_header(as_attachment=True, filename=name) or "attachment"


def download_response(data: bytes, filename: str, content_type: str = "application/octet-stream") -> HttpResponse:
    """A download the browser saves and never renders (``Content-Disposition: attachment``, ``nosniff``)."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = _disposition(filename)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return no_store(response)


def eml_response(raw: bytes, name: str) -> HttpResponse:
    """The stored message as an ``.eml`` file named ``name``.eml (as octet-stream: never opened by the browser)."""
    return download_response(raw, f"{name}.eml")


def attachment_response(attachment: Attachment) -> HttpResponse:
    return download_response(attachment.payload, attachment.filename or "attachment.bin")
