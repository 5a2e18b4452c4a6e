"""``parse(raw) -> ParsedMessage``: the one entry point from bytes to an understood message."""

from __future__ import annotations

from inbound.mime.bodies import Contents, CutText, collect
from inbound.mime.classify import classify
from inbound.mime.controls import header_text
from inbound.mime.headers import (
    HeaderSection,
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_ids,
)
from inbound.mime.html import sanitize_html
from inbound.mime.limits import MAX_PARTS, MAX_TEXT
from inbound.mime.model import Address, ClassifierConfig, ParsedMessage
from inbound.mime.reply import extract_reply
from inbound.mime.reply_html import html_to_text
from inbound.mime.structure import Part, build_tree, redecode_8bit_headers
from inbound.mime.subject import normalize_subject

MAX_KEPT_HEADERS = 200
MAX_KEPT_HEADER_VALUE = 2000
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Delivered-To")


def parse(raw: bytes, *, config: ClassifierConfig | None = None) -> ParsedMessage:
    """Understand one raw message. Never raises for malformed input; ``error`` says what went wrong."""
    config = config or ClassifierConfig()
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, bytes):
        try:
            raw = bytes(raw)
        except (TypeError, ValueError):
            return ParsedMessage(error="input is not bytes")
    try:
        message = _parse(raw, config)
    except RecursionError:
        return ParsedMessage(error="message structure too deep")
    except Exception as exc:
        return ParsedMessage(error=f"unparseable message: {type(exc).__name__}")
    try:
        return message.replace(classification=classify(message, config))
    except Exception as exc:
        return message.replace(error=_join(message.error, f"classification failed: {type(exc).__name__}"))


def _parse(raw: bytes, config: ClassifierConfig) -> ParsedMessage:
    root, notes, defects = build_tree(raw)
    redecode_8bit_headers(root, _body_charset(root))
    headers = root.headers
    if not headers.fields:  # nothing is lost (all of it is the body): a defect, not an error
        defects.insert(0, "no header section")
    contents = collect(root)
    notes.extend(contents.notes)
    subject = header_text(decode_words(headers.get("Subject"))).strip()
    body_text, body_html = _bodies(contents, config)
    from_ = _first(parse_addresses(headers.get("From")))
    return ParsedMessage(
        error="; ".join(notes)[:300] or None,
        defects=tuple(defects),
        message_id=_first_id(headers.get("Message-ID") or headers.get("Message-Id")),
        subject=subject,
        normalized_subject=_safe_normalize(subject),
        from_=from_,
        sender=_first(parse_addresses(headers.get("Sender"))),
        to=parse_addresses(", ".join(headers.get_all("To"))),
        cc=parse_addresses(", ".join(headers.get_all("Cc"))),
        reply_to=parse_addresses(headers.get("Reply-To")),
        date=parse_date(headers.get("Date")),
        in_reply_to=_first_id(headers.get("In-Reply-To")),
        references=parse_message_ids(headers.get("References")),
        body_text=body_text,
        body_html=body_html,
        reply_text=_safe_reply(body_text, body_html, subject),
        attachments=tuple(contents.attachments),
        signatures=tuple(contents.signatures),
        headers=_kept_headers(headers),
        delivered_to=_envelope(headers),
        return_path=_return_path(headers),
        content_type=root.content_type,
        report_type=root.params.get("report-type", "").lower() if root.content_type == "multipart/report" else "",
        reports=tuple(contents.reports),
        enclosed_headers=tuple(_kept_headers(p.children[0].headers) for p in contents.enclosed if p.children),
    )


def _body_charset(root: Part) -> str | None:
    """The charset declared by the first text part: the best evidence for undeclared 8-bit headers."""
    stack = [root]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        if part.content_type.startswith("text/") and part.charset:
            return part.charset
        if part.content_type.startswith("multipart/"):
            stack.extend(reversed(part.children))
    return None


def _bodies(contents: Contents, config: ClassifierConfig) -> tuple[str, str]:
    html = "\n".join(h for h in contents.htmls if h.strip() or isinstance(h, CutText))
    text = "\n\n".join(_trimmed(t) for t in contents.texts if t.strip() or isinstance(t, CutText))
    if not text and html:
        text = html_to_text(html)
    return text[:MAX_TEXT], sanitize_html(html, allow_remote_images=config.allow_remote_images)


def _trimmed(text: str) -> str:
    """Without its leading and trailing line breaks; a cut text's end is not its end: only the start is trimmed."""
    return text.lstrip("\n") if isinstance(text, CutText) else text.strip("\n")


def _first(addresses: tuple[Address, ...]) -> Address | None:
    return addresses[0] if addresses else None


def _first_id(value: str) -> str:
    ids = parse_message_ids(value, limit=1)
    return ids[0] if ids else ""


def _return_path(headers: HeaderSection) -> str | None:
    if "Return-Path" not in headers:
        return None
    value = headers.get("Return-Path").strip()
    if value.startswith("<"):
        value = value[1 : value.find(">")] if ">" in value else value[1:]
    return value.strip()


def _envelope(headers: HeaderSection) -> tuple[str, ...]:
    seen: list[str] = []
    for name in ENVELOPE_HEADERS:
        for value in headers.get_all(name):
            for address in parse_addresses(value):
                if address.email.lower() not in (s.lower() for s in seen):
                    seen.append(address.email)
    return tuple(seen)


def _kept_headers(headers: HeaderSection) -> tuple[tuple[str, str], ...]:
    return tuple((name, value[:MAX_KEPT_HEADER_VALUE]) for name, value in headers.fields[:MAX_KEPT_HEADERS])


def _safe_reply(body_text: str, body_html: str, subject: str) -> str:
    try:  # the subject tells a forward ("FW: ...") from a reply, so forwarded content is kept
        return extract_reply(body_text, body_html, subject=subject)
    except Exception:
        return body_text.strip()


def _safe_normalize(subject: str) -> str:
    try:
        return normalize_subject(subject)
    except Exception:
        return subject.strip()


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second
