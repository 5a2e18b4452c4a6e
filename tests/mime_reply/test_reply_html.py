"""Hand-written HTML shapes of Gmail, Outlook (desktop/web/mobile), Apple Mail, Thunderbird, Yahoo."""

from __future__ import annotations

import pytest

from inbound.mime.reply import extract_reply
from inbound.mime.reply_html import html_to_text

GMAIL = (
    '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
    'On Mon, Jan 2, 2023 at 10:00 AM John &lt;<a href="mailto:j@example.com">j@example.com</a>&gt; wrote:<br>'
    '</div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204)">'
    "<div>It is broken.</div></blockquote></div>"
)
GMAIL_EXTRA = (
    '<div dir="ltr">Works now</div><div class="gmail_extra"><br><div class="gmail_quote">Am 2. Jan. 2023 um '
    "10:00 schrieb John &lt;j@example.com&gt;:<blockquote>Old</blockquote></div></div>"
)
OUTLOOK_DESKTOP = (
    "<div class=WordSection1><p class=MsoNormal>Works now.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
    "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal>"
    "<b>Von:</b> John &lt;j@example.com&gt;<br><b>Gesendet:</b> Montag, 2. Januar 2023 10:00<br><b>An:</b> "
    "Support<br><b>Betreff:</b> Drucker</p></div><p class=MsoNormal>It is broken.</p></div>"
)
OUTLOOK_WEB = (
    '<div>Works now.</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
    '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>De :</b> John<br><b>Envoyé :</b> lundi 2 janvier'
    " 2023 10:00<br><b>À :</b> Support<br><b>Objet :</b> Imprimante</font><div>&nbsp;</div></div>"
    "<div>It is broken.</div>"
)
OUTLOOK_REQUOTED = (
    '<div>Works now.</div><div id="x_divRplyFwdMsg"><b>From:</b> John<br><b>Sent:</b> Monday</div>'
    "<div>It is broken.</div>"
)
OUTLOOK_MAC = (
    '<div>Works now.</div><span id="OLK_SRC_BODY_SECTION"><div><b>From: </b>John &lt;j@example.com&gt;<br>'
    "<b>Date: </b>Monday<br></div><div>It is broken.</div></span>"
)
APPLE = (
    '<html><body>Works now.<div><br><blockquote type="cite"><div>On 2 Jan 2023, at 10:00, John &lt;j@example.com'
    "&gt; wrote:</div><br><div>It is broken.</div></blockquote></div></body></html>"
)
THUNDERBIRD = (
    '<body><p>Works now.</p><div class="moz-cite-prefix">On 02.01.23 10:00, John wrote:<br></div>'
    '<blockquote type="cite">It is broken.</blockquote></body>'
)
YAHOO = (
    '<div>Works now.</div><div class="ydp1234yahoo_quoted"><div>On Monday, January 2, 2023, 10:00:00 AM GMT+1, '
    "John &lt;j@example.com&gt; wrote:</div><div>It is broken.</div></div>"
)
BOTTOM_POSTED = (
    '<div class="moz-cite-prefix">On 02.01.23 10:00, John wrote:</div><blockquote type="cite">Is it fixed?'
    "</blockquote><p>Yes, it is fixed.</p>"
)


@pytest.mark.parametrize(
    "html",
    [
        GMAIL,
        GMAIL_EXTRA,
        OUTLOOK_DESKTOP,
        OUTLOOK_WEB,
        OUTLOOK_REQUOTED,
        OUTLOOK_MAC,
        APPLE,
        THUNDERBIRD,
        YAHOO,
    ],
    ids=[
        "gmail",
        "gmail_extra",
        "outlook-desktop-de",
        "outlook-web-fr",
        "outlook-x_prefix",
        "outlook-mac",
        "apple",
        "thunderbird",
        "yahoo",
    ],
)
def test_html_reply_shapes(html: str) -> None:
    assert extract_reply("", html).startswith("Works now")
    assert "broken" not in extract_reply("", html)


def test_html_bottom_posted_reply() -> None:
    assert extract_reply("", BOTTOM_POSTED) == "Yes, it is fixed."


def test_html_takes_precedence_over_a_poor_text_conversion() -> None:
    text = "Works now, thanks! On Mon, Jan 2, 2023 at 10:00 AM John wrote: It is broken."
    assert extract_reply(text, GMAIL) == "Works now, thanks!"


def test_text_is_used_when_html_has_no_text() -> None:
    assert extract_reply("Plain words", "<html><body><img src='cid:x'></body></html>") == "Plain words"


def test_gmail_forward_is_kept() -> None:
    html = (
        '<div dir="ltr">FYI<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded '
        "message ---------<br>From: <b>Customer</b> &lt;c@example.com&gt;<br>Date: Mon, Jan 2, 2023<br>Subject: "
        "Broken<br>To: &lt;me@example.com&gt;<br></div><br><div>The device is broken.</div></div></div>"
    )
    result = extract_reply("", html)
    assert result.startswith("FYI") and "The device is broken." in result


def test_indent_blockquote_is_not_a_quote() -> None:
    html = '<div>Steps:</div><blockquote style="margin:0 0 0 40px;border:none;padding:0px">Restart it</blockquote>'
    assert extract_reply("", html) == "Steps:\nRestart it"


def test_html_to_text_basics() -> None:
    html = "<p>One</p><p>Two<br>Three</p><ul><li>a</li><li>b</li></ul><style>x{}</style><script>bad()</script>"
    assert html_to_text(html) == "One\n\nTwo\nThree\n\n- a\n- b"


def test_broken_html_never_raises() -> None:
    for html in ["<div", "</blockquote></blockquote>", "<<<>>>", "<![CDATA[", "<p>&#xffffff;</p>", "\x00<b>"]:
        assert isinstance(extract_reply("", html), str)
