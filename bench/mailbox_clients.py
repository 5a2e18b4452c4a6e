"""How the mail clients of the realistic mailbox (bench/mailbox.py) write a message: their HTML markup, their
quoted history and their headers, shaped after the real messages in ../shared/corpora (talon's and
quotequail's Outlook, Gmail, Apple Mail and Thunderbird samples): structure taken, no text copied.

Each client renders ``Draft`` (the new text, the signature and the message replied to, if any) into a plain
text and an HTML body; ``headers`` gives the client's own header lines."""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime

OUTLOOK, OWA, GMAIL, APPLE, THUNDERBIRD, PLAIN = "outlook", "owa", "gmail", "apple", "thunderbird", "plain"
CLIENTS = (OUTLOOK, OWA, GMAIL, APPLE, THUNDERBIRD, PLAIN)
CLIENT_WEIGHTS = (30, 10, 30, 15, 5, 10)


@dataclass(frozen=True)
class Quoted:
    """The message a reply quotes: as its sender wrote it (full plain text and the HTML body's inside)."""

    name: str
    address: str
    to: str
    date: datetime
    subject: str
    plain: str
    html: str


@dataclass(frozen=True)
class Draft:
    paragraphs: tuple[str, ...]
    signature: tuple[str, ...]
    quoted: Quoted | None
    labels: tuple[str, str, str, str]  # From, Sent, To, Subject in the sender's language
    wrote: str


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def plain_body(client: str, draft: Draft) -> str:
    """The text/plain part as the client writes it."""
    lines = [*_join(draft.paragraphs), "", *draft.signature]
    q = draft.quoted
    if q is not None:
        history = q.plain.splitlines()
        if client in (OUTLOOK, OWA):  # header block, history unquoted
            frm, sent, to, subject = draft.labels
            lines += [
                "",
                *(["________________________________"] if client == OWA else []),
                f"{frm}: {q.name} <{q.address}>",
                f"{sent}: {q.date:%A, %B %d, %Y %I:%M %p}",
                f"{to}: {q.to}",
                f"{subject}: {q.subject}",
                "",
                *history,
            ]
        else:
            if client == GMAIL:
                attribution = f"On {q.date:%a, %b %d, %Y at %I:%M %p} {q.name} <{q.address}> {draft.wrote}:"
            elif client == APPLE:
                attribution = f"On {q.date:%d %b %Y}, at {q.date:%H:%M}, {q.name} <{q.address}> {draft.wrote}:"
            elif client == THUNDERBIRD:
                attribution = f"On {q.date:%d/%m/%Y %H:%M}, {q.name} {draft.wrote}:"
            else:
                attribution = f"On {q.date:%a, %b %d, %Y at %H:%M:%S%z}, {q.name} {draft.wrote}:"
            lines += ["", attribution, "", *(">" + (" " + line if line else "") for line in history)]
    return "\n".join(lines) + "\n"


def _join(paragraphs: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for paragraph in paragraphs:
        out += [paragraph, ""]
    return out[:-1]


_OUTLOOK_STYLE = """<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face
	{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;
	mso-ligatures:standardcontextual;
	mso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
	{mso-style-priority:99;
	color:#0563C1;
	text-decoration:underline;}
span.EmailStyle17
	{mso-style-type:personal-compose;
	font-family:"Calibri",sans-serif;
	color:windowtext;}
span.EmailStyle20
	{mso-style-type:personal-reply;
	font-family:"Calibri",sans-serif;
	color:windowtext;}
.MsoChpDefault
	{mso-style-type:export-only;
	font-size:10.0pt;
	mso-ligatures:none;}
@page WordSection1
	{size:612.0pt 792.0pt;
	margin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
	{page:WordSection1;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->"""


def html_inside(client: str, draft: Draft, inline_cid: str | None) -> str:
    """The inside of the HTML body (what a later reply quotes)."""
    q = draft.quoted
    image = ""
    if client in (OUTLOOK, OWA):
        p = '<p class="MsoNormal">{}<o:p></o:p></p>'
        body = "".join(p.format(_e(t)) + p.format("&nbsp;") for t in draft.paragraphs)
        if inline_cid:
            image = p.format(
                f'<img width="624" height="351" style="width:6.5in;height:3.6562in" '
                f'id="Picture_x0020_1" src="cid:{inline_cid}">'
            )
        sig = p.format("<br>".join(_e(line) for line in draft.signature))
        out = body + image + sig
        if q is not None:
            frm, sent, to, subject = draft.labels
            if client == OWA:
                out += (
                    '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr">'
                    f'<font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>{frm}:</b> '
                    f"{_e(q.name)} &lt;{_e(q.address)}&gt;<br><b>{sent}:</b> {q.date:%A, %B %d, %Y %I:%M %p}<br>"
                    f"<b>{to}:</b> {_e(q.to)}<br><b>{subject}:</b> {_e(q.subject)}</font>"
                    f"<div>&nbsp;</div></div><div>{q.html}</div>"
                )
            else:
                out += (
                    '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
                    f'<p class="MsoNormal"><b><span lang="EN-US">{frm}:</span></b><span lang="EN-US"> '
                    f"{_e(q.name)} &lt;{_e(q.address)}&gt; <br><b>{sent}:</b> {q.date:%A, %B %d, %Y %I:%M %p}"
                    f"<br><b>{to}:</b> {_e(q.to)}<br><b>{subject}:</b> {_e(q.subject)}<o:p></o:p></span></p>"
                    f'</div></div><p class="MsoNormal"><o:p>&nbsp;</o:p></p>{q.html}'
                )
        return out
    if client == GMAIL:
        body = "".join(f"<div>{_e(t)}</div><div><br></div>" for t in draft.paragraphs)
        if inline_cid:
            image = f'<div><img src="cid:{inline_cid}" alt="image.png" width="562" height="316"><br></div>'
        sig = (
            '<span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">'
            + "<br>".join(_e(line) for line in draft.signature)
            + "</div>"
        )
        out = f'<div dir="ltr">{body}{image}</div>{sig}'
        if q is not None:
            out += (
                f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On {q.date:%a, %b %d, %Y at %I:%M %p}'
                f' {_e(q.name)} &lt;<a href="mailto:{q.address}">{q.address}</a>&gt; {draft.wrote}:<br></div>'
                '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                f'rgb(204,204,204);padding-left:1ex">{q.html}</blockquote></div>'
            )
        return out
    if client == APPLE:
        body = "<div>" + "</div><div><br></div><div>".join(_e(t) for t in draft.paragraphs) + "</div>"
        if inline_cid:
            image = f'<div><img apple-inline="yes" id="A1B2" src="cid:{inline_cid}" class=""></div>'
        sig = "<div><br></div><div>" + "<br>".join(_e(line) for line in draft.signature) + "</div>"
        out = f"{body}{image}{sig}"
        if q is not None:
            out += (
                f'<div><br><blockquote type="cite"><div>On {q.date:%d %b %Y}, at {q.date:%H:%M}, {_e(q.name)} '
                f'&lt;{_e(q.address)}&gt; {draft.wrote}:</div><br class="Apple-interchange-newline">'
                f"<div>{q.html}</div></blockquote></div><br>"
            )
        return out
    # Thunderbird (and the plain-text client's HTML, never sent)
    body = "".join(f"<p>{_e(t)}</p>" for t in draft.paragraphs)
    sig = '<pre class="moz-signature" cols="72">-- \n' + _e("\n".join(draft.signature)) + "</pre>"
    out = body + sig
    if q is not None:
        out += (
            f'<div class="moz-cite-prefix">On {q.date:%d/%m/%Y %H:%M}, {_e(q.name)} {draft.wrote}:<br></div>'
            f'<blockquote type="cite">{q.html}</blockquote>'
        )
    return out


def html_document(client: str, inside: str, charset: str) -> str:
    """The whole HTML part around ``inside``."""
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    if client == OUTLOOK:
        return (
            '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:w="urn:schemas-microsoft-com:office:word" '
            'xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">'
            f'<head>{meta}<meta name="Generator" content="Microsoft Word 15 (filtered medium)">{_OUTLOOK_STYLE}'
            '</head><body lang="EN-US" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">'
            f'<div class="WordSection1">{inside}</div></body></html>'
        )
    if client == OWA:
        return (
            f'<html><head>{meta}<style type="text/css" style="display:none;"> P {{margin-top:0;margin-bottom:0;}} '
            '</style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, '
            f'Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">{inside}'
            "</div></body></html>"
        )
    if client == GMAIL:
        return inside
    if client == APPLE:
        return (
            f'<html aria-label="message body"><head>{meta}</head><body style="overflow-wrap: break-word; '
            f'-webkit-nbsp-mode: space; line-break: after-white-space;">{inside}</body></html>'
        )
    return f"<!DOCTYPE html><html><head>{meta}</head><body>{inside}</body></html>"


def headers(client: str, rng: random.Random, domain: str, when: datetime) -> list[tuple[str, str]]:
    """The client's own header lines (X-Mailer, Thread-Index, DKIM...)."""
    token = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(40))
    if client in (OUTLOOK, OWA):
        return [
            ("Thread-Index", "AQH" + token[:30] + "=="),
            ("Accept-Language", "en-US"),
            ("Content-Language", "en-US"),
            ("X-MS-Has-Attach", ""),
            ("X-MS-TNEF-Correlator", ""),
            ("x-ms-publictraffictype", "Email"),
            ("x-ms-exchange-organization-scl", "1"),
            ("X-MS-Exchange-CrossTenant-originalarrivaltime", f"{when:%d %b %Y %H:%M:%S.%f}"[:-3] + " (UTC)"),
            ("X-MS-Exchange-Transport-CrossTenantHeadersStamped", "AM9PR07MB" + token[:4].upper()),
        ]
    if client == GMAIL:
        return [
            (
                "DKIM-Signature",
                f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=20230601; t={int(when.timestamp())}; "
                "x=1741600000; darn=support.example.com; h=to:subject:message-id:date:from:in-reply-to:references"
                f":mime-version:from:to:cc:subject:date:message-id:reply-to; bh={token[:43]}=; b={token * 8}",
            ),
            (
                "X-Google-DKIM-Signature",
                f"v=1; a=rsa-sha256; c=relaxed/relaxed; d=1e100.net; s=20230601; b={token * 6}",
            ),
            ("X-Gm-Message-State", "AOJu0Y" + token * 2),
            ("X-Google-Smtp-Source", "AGHT+IE" + token[:60]),
        ]
    if client == APPLE:
        return [("X-Mailer", "Apple Mail (2.3826.300.87.4.3)")]
    if client == THUNDERBIRD:
        return [("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "en-GB")]
    return [("User-Agent", "NeoMutt/20231103")]
