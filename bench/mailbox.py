"""A realistic support mailbox, generated deterministically from a seed (for bench/inbound.py).

    from bench.mailbox import generate
    for mail in generate(2000, seed=11): ...   # Mail(position, message_id, kind, request_id, raw, ...)

What it holds, in mailbox order (the order a poll takes it):

* 45% new requests to support@support.example.com, from a few hundred people of a dozen organisations and of
  free-mail providers, each writing with their own client: Outlook desktop and Outlook on the web, Gmail, Apple
  Mail, Thunderbird (multipart/alternative with the client's real HTML markup) or a plain-text client;
* 45% replies to requests earlier in the mailbox (from the requester, sometimes a colleague), threaded by
  In-Reply-To and References and "Re: <subject>", quoting the history the way their client does: Outlook's
  ``From: / Sent: / To: / Subject:`` block without ``>`` (and its HTML top-bordered div or divRplyFwdMsg),
  Gmail's ``On <date>, <name> <addr> wrote:`` with ``>`` lines and a ``gmail_quote`` div, Apple Mail's
  ``On <date>, at <time>, <name> wrote:`` with ``<blockquote type="cite">``; a quarter of the replies follow
  their request within a few messages (same capture chunk or the next: the case that splits threads when two
  workers race), the rest hundreds of messages later;
* 10% automated mail: out-of-office replies (Auto-Submitted: auto-replied), bounces (multipart/report with
  message/delivery-status) and list mail (List-Id, Precedence: bulk/list);
* 15% of all messages carry attachments (PDF, PNG screenshots, spreadsheets, logs with realistic sizes; a third of
  them are screenshots pasted inline, multipart/related with cid: references);
* about 4% of the people write German (UTF-8, quoted-printable), French (ISO-8859-1) or Japanese (ISO-2022-JP,
  or UTF-8 base64 from Gmail), with encoded-word names and subjects.

The same (count, seed) always gives the same bytes. ``Mail.kind`` and ``Mail.request_id`` are the ground truth a
benchmark checks outcomes against: a reply must become a comment on the issue its request created.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime
from typing import Any

from bench import mailbox_text as text
from bench.mailbox_clients import (
    APPLE,
    CLIENT_WEIGHTS,
    CLIENTS,
    GMAIL,
    OUTLOOK,
    OWA,
    PLAIN,
    THUNDERBIRD,
    Draft,
    Quoted,
    headers,
    html_document,
    html_inside,
    plain_body,
)

SUPPORT = "support@support.example.com"
REQUEST, REPLY, AUTO_REPLY, BOUNCE, LIST = "request", "reply", "auto-reply", "bounce", "list"
BENCH_MTA = "mx.support.example.com"  # the authserv-id of the benchmark's MTA
AUTOMATED = (AUTO_REPLY, BOUNCE, LIST)
SHARES = {REQUEST: 0.45, REPLY: 0.45}  # the rest (10%) is automated
ATTACHMENT_SHARE = 0.15
FOREIGN_TURNS = ("de", "fr", "ja")
QUICK_REPLY_SHARE = 0.25  # replies within a few messages of their request
MAX_REPLIES_PER_REQUEST = 5  # well under the profile's comment limits (20 per issue per hour)
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))
SECONDS_APART = 40
_POLICY = compat32.clone(linesep="\r\n", max_line_length=78)


@dataclass(frozen=True)
class Mail:
    """One generated message and its ground truth."""

    position: int  # in the mailbox, from 0
    message_id: str  # without angle brackets
    kind: str  # request, reply, auto-reply, bounce or list
    request_id: str = ""  # replies: the Message-ID of the request that started their thread
    parent_position: int = -1  # replies: the message they answer (the request or an earlier reply)
    request_position: int = -1
    client: str = ""
    language: str = "en"
    attachments: int = 0
    inline_images: int = 0
    raw: bytes = field(default=b"", repr=False)

    def truth(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "raw"}


@dataclass(frozen=True)
class _Person:
    name: str
    address: str
    organisation: str
    domain: str
    client: str
    language: str


@dataclass
class _Slot:
    kind: str
    request: int = -1  # replies: position of their request
    parent: int = -1


def _people(rng: random.Random, count: int) -> list[_Person]:
    people: list[_Person] = []
    foreign_names = {
        "de": ("Jürgen Müller", "Käthe Schäfer", "Lukas Weiß", "Sophie Krüger"),
        "fr": ("Éloïse Lefèvre", "François Dubois", "Hélène Mercier", "Jérôme Faure"),
        "ja": ("田中 裕子", "佐藤 健", "鈴木 一郎", "高橋 美咲"),
    }
    for index in range(count):
        language = {3: "de", 23: "fr", 43: "ja"}.get(index % 60, "en")  # 5% of the people
        if language == "en":
            name = f"{rng.choice(text.FIRST_NAMES)} {rng.choice(text.LAST_NAMES)}"
            local = name.lower().replace(" ", ".")
        else:
            name = rng.choice(foreign_names[language])
            local = f"user{index}"
        kind = rng.random()
        if kind < 0.7:
            organisation, domain = rng.choice(text.ORGANISATIONS)
            if language != "en":
                domain = domain.rsplit(".", 1)[0] + {"de": ".de", "fr": ".fr", "ja": ".co.jp"}[language]
            client = rng.choices((OUTLOOK, OWA, APPLE, THUNDERBIRD, PLAIN), weights=(45, 15, 10, 10, 20))[0]
            client = rng.choices(CLIENTS, weights=CLIENT_WEIGHTS)[0] if client == PLAIN and kind < 0.3 else client
        elif kind < 0.9:
            organisation, domain, client = "", rng.choice(text.FREE_MAIL), GMAIL
        else:
            organisation, domain, client = "", rng.choice(text.APPLE_MAIL), APPLE
        people.append(_Person(name, f"{local}.{index}@{domain}", organisation, domain, client, language))
    return people


def _copied(people: list[_Person], requester: _Person) -> list[str]:
    """The addresses a requester copies on a request: up to five colleagues of their organisation."""
    if not requester.organisation:
        return []
    same = [p.address for p in people if p.organisation == requester.organisation and p is not requester]
    return same[:5]


def _plan(rng: random.Random, count: int) -> list[_Slot]:
    """Which position holds what, and which request each reply answers."""
    automated = round(count * (1 - SHARES[REQUEST] - SHARES[REPLY]))
    requests_left = round(count * SHARES[REQUEST])
    replies_left = count - automated - requests_left
    auto_positions = set(rng.sample(range(count), automated))
    slots: list[_Slot] = []
    for position in range(count):
        if position in auto_positions:
            slots.append(_Slot(rng.choices(AUTOMATED, weights=(40, 30, 30))[0]))
            continue
        have_request = requests_left < round(count * SHARES[REQUEST])
        share = replies_left / max(1, replies_left + requests_left)
        if replies_left and have_request and (not requests_left or rng.random() < share):
            slots.append(_Slot(REPLY))
            replies_left -= 1
        else:
            slots.append(_Slot(REQUEST))
            requests_left -= 1
    requests = [p for p, s in enumerate(slots) if s.kind == REQUEST]
    replies_of: dict[int, list[int]] = {p: [] for p in requests}
    for position, slot in enumerate(slots):
        if slot.kind != REPLY:
            continue
        quick = rng.random() < QUICK_REPLY_SHARE
        gap = 1 + int(rng.expovariate(1 / (6 if quick else 250)))
        latest = bisect.bisect_left(requests, position) - 1  # the last request before this reply
        index = max(0, min(bisect.bisect_right(requests, position - gap) - 1, latest))
        # a thread already full: the nearest earlier request with room, else the nearest later one
        order = [*range(index, -1, -1), *range(index + 1, latest + 1)]
        index = next((i for i in order if len(replies_of[requests[i]]) < MAX_REPLIES_PER_REQUEST), index)
        slot.request = requests[index]
        thread = replies_of[slot.request]
        slot.parent = thread[-1] if thread else slot.request
        thread.append(position)
    return slots


def _when(position: int) -> datetime:
    return BASE_TIME + timedelta(seconds=SECONDS_APART * position)


def _message_id(rng: random.Random, client: str, person: _Person, position: int) -> str:
    token = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=24))
    if client in (OUTLOOK, OWA):
        return f"AM9PR07MB{token[:12].upper()}{position:05d}@AM9PR07MB{token[12:16].upper()}.eurprd07.prod.outlook.com"
    if client == GMAIL:
        return f"CA+{token}{position:05d}@mail.gmail.com"
    if client == APPLE:
        return f"{token[:8].upper()}-{token[8:12].upper()}-{position:04d}-{token[12:24].upper()}@{person.domain}"
    return f"{token[:16].lower()}.{position}@{person.domain}"


def _address(person: _Person, charset: str) -> str:
    if person.name.isascii():
        return f'"{person.name}" <{person.address}>' if " " in person.name else person.address
    return f"{Header(person.name, charset).encode()} <{person.address}>"


def _body_charset(language: str, client: str) -> tuple[str, Charset]:
    encoding: int | None
    if language == "ja" and client != GMAIL:
        name, encoding = "iso-2022-jp", None  # 7bit with escape sequences, as Outlook and Apple Mail send it
    elif language == "ja":
        name, encoding = "utf-8", BASE64
    elif language == "fr":
        name, encoding = "iso-8859-1", QP
    else:
        name, encoding = "utf-8", QP if client != PLAIN else None
    charset = Charset(name)
    charset.body_encoding = encoding  # type: ignore[assignment]  # None is 7bit/8bit; typeshed says int only
    charset.header_encoding = BASE64 if name != "iso-8859-1" else QP
    return name, charset


def _attachment_parts(rng: random.Random, inline: bool, client: str) -> list[MIMEBase]:
    def blob(magic: bytes, median_kb: float, sigma: float, low_kb: int, high_kb: int) -> bytes:
        size = int(1024 * min(high_kb, max(low_kb, rng.lognormvariate(0, sigma) * median_kb)))
        return magic + rng.randbytes(size)

    if inline:
        image = MIMEImage(blob(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 90, 0.7, 8, 1500), "png")
        cid = f"image001.png@01DA{rng.randrange(16**8):08X}.{rng.randrange(16**8):08X}"
        image.add_header("Content-ID", f"<{cid}>")
        image.add_header("Content-Disposition", "inline", filename="image001.png" if client != GMAIL else "image.png")
        return [image]
    parts: list[MIMEBase] = []
    part: MIMEBase
    for _ in range(rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
        kind = rng.choices(("pdf", "png", "xlsx", "log"), weights=(45, 30, 15, 10))[0]
        if kind == "pdf":
            part = MIMEApplication(blob(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 110, 0.9, 20, 3000), "pdf")
            name = f"{rng.choice(('Invoice', 'Report', 'Contract', 'Offer', 'Scan'))}_{rng.randrange(10000, 99999)}.pdf"
        elif kind == "png":
            part = MIMEImage(blob(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 110, 0.8, 10, 2000), "png")
            name = f"Screenshot {BASE_TIME:%Y-%m-%d} at {rng.randrange(8, 18)}.{rng.randrange(10, 59)}.png"
        elif kind == "xlsx":
            part = MIMEApplication(
                blob(b"PK\x03\x04\x14\x00\x06\x00", 40, 0.8, 8, 800),
                "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            name = f"users_{rng.randrange(100, 999)}.xlsx"
        else:
            lines = [
                f"2026-03-02T08:{i % 60:02d}:{i * 7 % 60:02d}Z ERROR request {rng.randrange(16**12):012x} "
                f"failed: upstream timeout after 30000 ms"
                for i in range(rng.randrange(50, 1500))
            ]
            part = MIMEText("\n".join(lines) + "\n", "plain", "utf-8")
            name = "client.log"
        part.add_header("Content-Disposition", "attachment", filename=name)
        parts.append(part)
    return parts


def _received(rng: random.Random, person: _Person, when: datetime) -> list[str]:
    ip = f"{rng.randrange(20, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    relay = {
        GMAIL: "mail-wr1-f45.google.com",
        OUTLOOK: "mail-am9pr07cu001.outbound.protection.outlook.com",
        OWA: "mail-db8eur05on2070.outbound.protection.outlook.com",
    }.get(person.client, f"smtp.{person.domain}")
    return [
        f"from mx.support.example.com (localhost [127.0.0.1]) by imap.support.example.com (Dovecot) with LMTP id "
        f"{rng.randrange(16**10):010x} for <{SUPPORT}>; {format_datetime(when)}",
        f"from {relay} ({relay} [{ip}]) by mx.support.example.com (Postfix) with ESMTPS id "
        f"{rng.randrange(16**10):010X} for <{SUPPORT}>; {format_datetime(when)}",
    ]


class _Generator:
    def __init__(self, count: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = _people(self.rng, max(12, count // 6))
        self.slots = _plan(self.rng, count)
        self.count = count
        self.requests_written = 0
        attach_pool = [p for p, s in enumerate(self.slots) if s.kind in (REQUEST, REPLY)]
        self.with_attachments = set(
            self.rng.sample(attach_pool, min(len(attach_pool), round(count * ATTACHMENT_SHARE)))
        )
        self.sent: dict[
            int, tuple[Quoted, str, list[str], _Person, str]
        ] = {}  # position -> quoted, id, refs, who, subj

    def mails(self) -> Iterator[Mail]:
        for position, slot in enumerate(self.slots):
            if slot.kind in (REQUEST, REPLY):
                yield self._human(position, slot)
            else:
                yield self._automated(position, slot)

    # -- requests and replies -------------------------------------------------------------------------
    def _human(self, position: int, slot: _Slot) -> Mail:
        rng = self.rng
        when = _when(position)
        words = text.LANGUAGES
        if slot.kind == REQUEST:
            # every 20th request comes from a de, fr or ja writer in turn, so even a small mailbox has each language
            turn, nth = divmod(self.requests_written, 20)
            self.requests_written += 1
            foreign = [p for p in self.people if p.language == FOREIGN_TURNS[turn % 3]] if nth == 10 else []
            person = rng.choice(foreign or self.people)
            lang = words[person.language]
            subject_t, opening, details = rng.choice(lang["requests"])
            number = rng.randrange(10000, 99999)
            subject = subject_t.format(n=number)
            paragraphs: tuple[str, ...] = (
                rng.choice(lang["greetings"]),
                opening.format(n=number),
                " ".join(d.format(n=number) for d in rng.sample(details, rng.randrange(1, len(details) + 1))),
            )
            quoted, references, root_subject = None, [], subject
        else:
            _, _, _, requester, root_subject = self.sent[slot.request]
            parent_quoted, parent_id, parent_refs, _, _ = self.sent[slot.parent]
            # a colleague who replies was copied on the request (else they are a stranger to the issue, and issue
            # 14's writers rule rightly holds their mail)
            copied_on_request = set(_copied(self.people, requester))
            colleagues = [
                p
                for p in self.people
                if p.organisation
                and p.organisation == requester.organisation
                and p.language == requester.language
                and p is not requester
            ]
            person = requester
            if colleagues and rng.random() < 0.2:
                copied = [p for p in colleagues if p.address in copied_on_request]
                person = rng.choice(copied) if copied else requester
            lang = words[person.language]
            prefix = lang["re"] if person.client in (OUTLOOK, OWA) else "Re:"
            subject = f"{prefix} {root_subject}"
            paragraphs = (rng.choice(lang["greetings"]), rng.choice(lang["replies"]))
            quoted, references = parent_quoted, [*parent_refs, parent_id][-10:]
        signature = (
            str(rng.choice(lang["signoffs"])),
            person.name,
            *((person.organisation, f"+44 20 7946 {rng.randrange(1000, 9999)}") if person.organisation else ()),
        )
        draft = Draft(paragraphs, signature, quoted, lang["labels"], str(lang["wrote"]))
        message_id = _message_id(rng, person.client, person, position)
        charset_name, charset = _body_charset(person.language, person.client)
        attachments: list[MIMEBase] = []
        inline = False
        if position in self.with_attachments:
            inline = person.client != PLAIN and rng.random() < 1 / 3
            attachments = _attachment_parts(rng, inline, person.client)
        cid = attachments[0]["Content-ID"].strip("<>") if inline else None
        plain = plain_body(person.client, draft)
        inside = html_inside(person.client, draft, cid)
        message = self._assemble(person.client, plain, inside, charset_name, charset, attachments, inline)
        for value in _received(rng, person, when):
            message["Received"] = value
        message["From"] = _address(person, charset_name)
        message["To"] = SUPPORT
        if slot.kind == REQUEST:  # the requester copies the colleagues who may reply later (they then take part)
            cc = _copied(self.people, person)
            if cc:
                message["Cc"] = ", ".join(cc)
        # our MTA checked the sender's domain (the bench source trusts it: issue 14's sender authentication)
        message["Authentication-Results"] = f"{BENCH_MTA}; dmarc=pass (p=none) header.from={person.domain}"
        # compat32 messages take a Header (encoded words in the sender's charset); typeshed says str only
        message["Subject"] = subject if subject.isascii() else Header(subject, charset_name)  # type: ignore[assignment]
        if person.client in (OUTLOOK, OWA):
            topic = root_subject if root_subject.isascii() else Header(root_subject, charset_name)
            message["Thread-Topic"] = topic  # type: ignore[assignment]  # a Header, as for Subject
        message["Date"] = format_datetime(when)
        message["Message-ID"] = f"<{message_id}>"
        if references:
            message["In-Reply-To"] = f"<{references[-1]}>"
            message["References"] = " ".join(f"<{r}>" for r in references)
        for name, value in headers(person.client, rng, person.domain, when):
            message[name] = value
        self.sent[position] = (
            Quoted(person.name, person.address, SUPPORT, when, subject, plain.rstrip("\n"), inside),
            message_id,
            references,
            person,
            root_subject,
        )
        request_position = slot.request if slot.kind == REPLY else -1
        return Mail(
            position=position,
            message_id=message_id,
            kind=slot.kind,
            request_id=self.sent[slot.request][1] if slot.kind == REPLY else "",
            parent_position=slot.parent,
            request_position=request_position,
            client=person.client,
            language=person.language,
            attachments=0 if inline else len(attachments),
            inline_images=1 if inline else 0,
            raw=_bytes(message, rng, person.client),
        )

    @staticmethod
    def _assemble(
        client: str, plain: str, inside: str, name: str, charset: Charset, attachments: list[MIMEBase], inline: bool
    ) -> MIMEBase:
        # MIMEText takes a Charset too (its body encoding decides the transfer encoding); typeshed says str only
        text_part = MIMEText(plain, "plain", charset)  # type: ignore[arg-type]
        if client == PLAIN:
            body: MIMEBase = text_part
        else:
            html_part = MIMEText(html_document(client, inside, name), "html", charset)  # type: ignore[arg-type]
            if inline and client in (OUTLOOK, OWA):  # related(alternative(plain, html), image)
                alternative = MIMEMultipart("alternative", _subparts=[text_part, html_part])
                body = MIMEMultipart("related", _subparts=[alternative, *attachments], type="multipart/alternative")
                return body
            if inline:  # alternative(plain, related(html, image)), as Gmail and Apple Mail write it
                related = MIMEMultipart("related", _subparts=[html_part, *attachments])
                return MIMEMultipart("alternative", _subparts=[text_part, related])
            body = MIMEMultipart("alternative", _subparts=[text_part, html_part])
        if attachments:
            return MIMEMultipart("mixed", _subparts=[body, *attachments])
        return body

    # -- automated mail -------------------------------------------------------------------------------
    def _automated(self, position: int, slot: _Slot) -> Mail:
        rng = self.rng
        when = _when(position)
        person = rng.choice(self.people)
        notification = f"jemh.{rng.randrange(16**12):012x}@support.example.com"
        if slot.kind == AUTO_REPLY:
            message_id = _message_id(rng, person.client, person, position)
            body = (
                "Thank you for your message. I am out of the office until Monday with limited access to email.\n"
                "For urgent matters please contact our service desk.\n"
            )
            message: MIMEBase = MIMEText(body, "plain", "utf-8")
            message["From"] = _address(person, "utf-8")
            message["To"] = SUPPORT
            message["Subject"] = f"Automatic reply: [SUP-{rng.randrange(1, 900)}] Your request was updated"
            message["Date"] = format_datetime(when)
            message["Message-ID"] = f"<{message_id}>"
            message["In-Reply-To"] = f"<{notification}>"
            message["Auto-Submitted"] = "auto-replied"
            message["X-Auto-Response-Suppress"] = "All"
            raw = _bytes(message, rng)
        elif slot.kind == BOUNCE:
            message_id = f"{rng.randrange(16**12):012X}.{position}@mx.{person.domain}"
            raw = _bounce(message_id, person, notification, when)
        else:
            subject, sender, list_id = rng.choice(text.NEWSLETTERS)
            message_id = f"{rng.randrange(16**16):016x}.{position}@{sender.split('@')[1]}"
            paragraphs = "".join(
                f'<tr><td style="padding:16px;font-family:Arial,sans-serif;font-size:15px">'
                f"Item {i}: what changed this week, and what it means for your team.</td></tr>"
                for i in range(rng.randrange(5, 25))
            )
            page = (
                f'<!DOCTYPE html><html><body style="margin:0;background:#f4f4f4"><table role="presentation" '
                f'width="100%" cellspacing="0" cellpadding="0"><tr><td align="center"><table width="600">'
                f'{paragraphs}<tr><td><a href="https://{sender.split("@")[1]}/unsubscribe?u={position}">'
                "Unsubscribe</a></td></tr></table></td></tr></table></body></html>"
            )
            message = MIMEMultipart(
                "alternative",
                _subparts=[
                    MIMEText("View this email in your browser.\n", "plain", "utf-8"),
                    MIMEText(page, "html", "utf-8"),
                ],
            )
            message["From"] = sender
            message["To"] = SUPPORT
            message["Subject"] = subject
            message["Date"] = format_datetime(when)
            message["Message-ID"] = f"<{message_id}>"
            message["List-Id"] = f"<{list_id}>"
            message["List-Unsubscribe"] = (
                f"<https://{sender.split('@')[1]}/u/{position}>, <mailto:{sender}?subject=unsubscribe>"
            )
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message["Precedence"] = "list" if subject.startswith("[") else "bulk"
            raw = _bytes(message, rng)
        return Mail(position=position, message_id=message_id, kind=slot.kind, raw=raw)


def _bytes(message: MIMEBase, rng: random.Random, client: str = "") -> bytes:
    """The message's bytes, with boundaries drawn from ``rng`` (the stdlib would draw them from the global
    random generator) in the client's style."""
    for part in message.walk():
        if part.is_multipart():
            token = f"{rng.randrange(16**24):024x}"
            part.set_boundary(
                f"_000_{token.upper()}_"
                if client in (OUTLOOK, OWA)
                else f"0000000000{token[:18]}"
                if client == GMAIL
                else f"Apple-Mail=_{token[:8].upper()}-{token[8:12].upper()}-{token[12:].upper()}"
                if client == APPLE
                else f"------------{token}"
            )
    return message.as_bytes(policy=_POLICY)


def _bounce(message_id: str, person: _Person, notification: str, when: datetime) -> bytes:
    boundary = f"{hashlib.sha1(message_id.encode()).hexdigest()[:8].upper()}.{int(when.timestamp())}/mx.{person.domain}"
    date = format_datetime(when)
    return (
        f"Return-Path: <>\r\nReceived: from mx.{person.domain} by mx.support.example.com (Postfix) for <{SUPPORT}>; "
        f"{date}\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.{person.domain}>\r\nTo: {SUPPORT}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nDate: {date}\r\nMessage-ID: <{message_id}>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"\r\n\r\n'
        "This is a MIME-encapsulated message.\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.{person.domain}.\r\n\r\nI'm sorry to have to inform you that your "
        "message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        f"<{person.address}>: host mailstore.{person.domain} said: 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.{person.domain}\r\nArrival-Date: {date}\r\n\r\n"
        f"Final-Recipient: rfc822; {person.address}\r\nOriginal-Recipient: rfc822;{person.address}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Support <{SUPPORT}>\r\nTo: {person.address}\r\nSubject: [SUP-12] Your request was updated\r\n"
        f"Message-ID: <{notification}>\r\nDate: {date}\r\n\r\n--{boundary}--\r\n"
    ).encode()


def generate(count: int, seed: int = 11) -> Iterator[Mail]:
    """The mailbox's messages in order, made one by one (a large mailbox is never held whole)."""
    return _Generator(count, seed).mails()
