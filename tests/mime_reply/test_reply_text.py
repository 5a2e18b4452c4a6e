"""Hand-written plain-text cases: attribution lines, separators, Outlook blocks, signatures, forwards."""
# ruff: noqa: RUF001  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

import pytest

from inbound.mime.reply import extract_reply, parse_reply, strip_signature

QUOTE = "> Original question\n> second line\n"

ATTRIBUTIONS = {
    "en": "On Mon, Jan 2, 2023 at 10:00 AM John Doe <john@example.com> wrote:",
    "en-apple": "On 2 Jan 2023, at 10:00, John Doe <john@example.com> wrote:",
    "en-thunderbird": "On 02.01.2023 10:00, John Doe wrote:",
    "de": "Am Mo., 2. Jan. 2023 um 10:00 Uhr schrieb John Doe <john@example.com>:",
    "de-thunderbird": "Am 02.01.2023 um 10:00 schrieb John Doe:",
    "fr": "Le lun. 2 janv. 2023 à 10:00, John Doe <john@example.com> a écrit :",
    "es": "El lun, 2 ene 2023 a las 10:00, John Doe (<john@example.com>) escribió:",
    "it": "Il giorno lun 2 gen 2023 alle ore 10:00 John Doe <john@example.com> ha scritto:",
    "pt": "Em seg., 2 de jan. de 2023 às 10:00, John Doe <john@example.com> escreveu:",
    "nl": "Op ma 2 jan. 2023 om 10:00 schreef John Doe <john@example.com>:",
    "da": "Den man. 2. jan. 2023 kl. 10.00 skrev John Doe <john@example.com>:",
    "sv": "mån 2 jan. 2023 kl. 10:00 skrev John Doe <john@example.com>:",
    "no": "man. 2. jan. 2023 kl. 10:00 skrev John Doe <john@example.com>:",
    "fi": "ma 2. tammik. 2023 klo 10.00 John Doe (john@example.com) kirjoitti:",
    "pl": "W dniu pon., 2.01.2023 o 10:00 John Doe <john@example.com> napisał(a):",
    "pl-thunderbird": "W dniu 2.01.2023 o 10:00, John Doe pisze:",
    "ru": "пн, 2 янв. 2023 г. в 10:00, John Doe <john@example.com>:",
    "ru-verb": "02.01.2023 10:00, John Doe пишет:",
    "ru-android": "02.01.2023 10:00 пользователь John Doe <john@example.com> написал:",
    "ja": "2023年1月2日(月) 10:00 John Doe <john@example.com>:",
    "ja-verb": "2023/01/02 10:00、John Doe のメッセージ: に John Doe が書きました:",
    "zh": "John Doe <john@example.com> 于2023年1月2日周一 10:00写道：",
    "zh-tw": "John Doe <john@example.com> 於 2023年1月2日 週一 上午10:00寫道：",
}


@pytest.mark.parametrize("attribution", ATTRIBUTIONS.values(), ids=list(ATTRIBUTIONS))
def test_attribution_with_quote_is_removed(attribution: str) -> None:
    body = f"Thanks, that works.\n\n{attribution}\n\n{QUOTE}"
    assert extract_reply(body) == "Thanks, that works."


# Gmail's ja/ru forms have no verb ("<date> <name> <address>:"); they are only trusted before '>' lines.
VERB_ATTRIBUTIONS = {k: a for k, a in ATTRIBUTIONS.items() if k not in {"ja", "ru"}}


@pytest.mark.parametrize("attribution", VERB_ATTRIBUTIONS.values(), ids=list(VERB_ATTRIBUTIONS))
def test_attribution_without_quote_marks_cuts(attribution: str) -> None:
    body = f"Thanks, that works.\n\n{attribution}\n\nOriginal question\nsecond line\n"
    assert extract_reply(body) == "Thanks, that works."


def test_wrapped_attribution_over_three_lines() -> None:
    body = "New text\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@example.com>\nwrote:\n\n> old\n"
    assert extract_reply(body) == "New text"


def test_wrapped_german_attribution() -> None:
    body = "Neu\n\nAm So., 1. Jan. 2023 um 17:22 Uhr\nschrieb John Doe <\nnoreply@example.com>:\n\n> alt\n"
    assert extract_reply(body) == "Neu"


SEPARATORS = [
    "-----Original Message-----",
    "----- Original Message -----",
    "-----Ursprüngliche Nachricht-----",
    "-----Message d'origine-----",
    "-----Mensaje original-----",
    "-----Messaggio originale-----",
    "-----Mensagem original-----",
    "-----Oorspronkelijk bericht-----",
    "-----Oprindelig meddelelse-----",
    "-----Opprinnelig melding-----",
    "-----Ursprungligt meddelande-----",
    "-----Alkuperäinen viesti-----",
    "-----Wiadomość oryginalna-----",
    "-----Исходное сообщение-----",
    "-----原始邮件-----",
    "-----元のメッセージ-----",
    "-------- Original message --------",
]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_original_message_separators(separator: str) -> None:
    body = f"My answer.\n\n{separator}\nFrom: Someone\nSent: today\n\nOld text\n"
    assert extract_reply(body) == "My answer."


OUTLOOK_BLOCKS = {
    "en-desktop": "From: John Doe <john@example.com>\nSent: Monday, January 2, 2023 10:00 AM\n"
    "To: Support <support@example.com>\nSubject: Printer\n",
    "en-bold": "*From:* John Doe [mailto:john@example.com]\n*Sent:* Monday, January 2, 2023 10:00 AM\n"
    "*To:* support@example.com\n*Subject:* Printer\n",
    "en-web": "________________________________\nFrom: John Doe <john@example.com>\n"
    "Sent: Monday, January 2, 2023 10:00\nTo: Support <support@example.com>\nSubject: Printer\n",
    "en-mobile": "From: John Doe <john@example.com>\nDate: Monday, 2 January 2023 at 10:00\n"
    "To: Support <support@example.com>\nSubject: Printer\n",
    "de": "Von: John Doe <john@example.com>\nGesendet: Montag, 2. Januar 2023 10:00\n"
    "An: Support <support@example.com>\nBetreff: Drucker\n",
    "fr": "De : John Doe <john@example.com>\nEnvoyé : lundi 2 janvier 2023 10:00\n"
    "À : Support <support@example.com>\nObjet : Imprimante\n",
    "es": "De: John Doe <john@example.com>\nEnviado: lunes, 2 de enero de 2023 10:00\n"
    "Para: Soporte <support@example.com>\nAsunto: Impresora\n",
    "it": "Da: John Doe <john@example.com>\nInviato: lunedì 2 gennaio 2023 10:00\n"
    "A: Supporto <support@example.com>\nOggetto: Stampante\n",
    "pt": "De: John Doe <john@example.com>\nEnviado: segunda-feira, 2 de janeiro de 2023 10:00\n"
    "Para: Suporte <support@example.com>\nAssunto: Impressora\n",
    "nl": "Van: John Doe <john@example.com>\nVerzonden: maandag 2 januari 2023 10:00\n"
    "Aan: Support <support@example.com>\nOnderwerp: Printer\n",
    "da": "Fra: John Doe <john@example.com>\nSendt: 2. januar 2023 10:00\nTil: Support\nEmne: Printer\n",
    "sv": "Från: John Doe <john@example.com>\nSkickat: den 2 januari 2023 10:00\nTill: Support\nÄmne: Skrivare\n",
    "fi": "Lähettäjä: John Doe <john@example.com>\nLähetetty: maanantai 2. tammikuuta 2023 10.00\n"
    "Vastaanottaja: Support\nAihe: Tulostin\n",
    "pl": "Od: John Doe <john@example.com>\nWysłano: poniedziałek, 2 stycznia 2023 10:00\nDo: Support\n"
    "Temat: Drukarka\n",
    "ru": "От: John Doe <john@example.com>\nОтправлено: 2 января 2023 г. 10:00\nКому: Support\nТема: Принтер\n",
    "zh": "发件人: John Doe <john@example.com>\n发送时间: 2023年1月2日 10:00\n收件人: Support\n主题: 打印机\n",
    "ja": "差出人: John Doe <john@example.com>\n送信日時: 2023年1月2日 10:00\n宛先: Support\n件名: プリンター\n",
}


@pytest.mark.parametrize("block", OUTLOOK_BLOCKS.values(), ids=list(OUTLOOK_BLOCKS))
def test_outlook_header_blocks(block: str) -> None:
    body = f"The printer works again.\n\n{block}\nHello, the printer is broken.\n"
    assert extract_reply(body) == "The printer works again."


def test_from_to_in_customer_text_is_not_a_header_block() -> None:
    body = "Please book the trip.\nFrom: Berlin\nTo: Paris\n\nThanks"
    assert extract_reply(body) == body


def test_bottom_posting_keeps_the_answer_below_the_quote() -> None:
    body = "On Mon, Jan 2, 2023 at 10:00 AM John <j@example.com> wrote:\n> Is it fixed?\n\nYes, since today.\n"
    assert extract_reply(body) == "Yes, since today."


def test_interleaved_answers_are_all_kept() -> None:
    body = "John <j@example.com> wrote:\n> First question?\n\nFirst answer.\n\n> Second question?\n\nSecond answer.\n"
    assert extract_reply(body) == "First answer.\n\nSecond answer."


def test_greeting_above_a_bottom_post_is_kept() -> None:
    body = "Hi,\nOn Tue, 2011-03-01 at 18:02 +0530, Abhishek wrote:\n> question\n\nanswer\n"
    assert extract_reply(body) == "Hi,\n\nanswer"


def test_fully_quoted_message_yields_its_quoted_content() -> None:
    body = "On Mon, Jan 2, 2023 at 10:00 AM John <j@example.com> wrote:\n> Please help.\n> It is broken.\n"
    assert extract_reply(body) == "Please help.\nIt is broken."


def test_message_of_only_quote_marks_yields_dequoted_text() -> None:
    assert extract_reply("> just this") == "just this"


def test_message_that_is_only_an_outlook_block_keeps_the_content() -> None:
    body = "From: John <j@example.com>\nSent: Monday\nSubject: Hi\n\nThe actual content.\n"
    assert extract_reply(body) == "The actual content."


FORWARDS = [
    "---------- Forwarded message ---------",
    "-------- Forwarded Message --------",
    "Begin forwarded message:",
    "Anfang der weitergeleiteten Nachricht:",
    "---------- Weitergeleitete Nachricht ----------",
    "-------- Message transféré --------",
    "Début du message réexpédié :",
    "---------- Mensaje reenviado ---------",
    "---------- Messaggio inoltrato ---------",
    "---------- Doorgestuurd bericht ---------",
    "-------- Пересылаемое сообщение --------",
]


@pytest.mark.parametrize("marker", FORWARDS)
def test_forwarded_content_is_kept(marker: str) -> None:
    body = (
        f"Please look at this.\n\n{marker}\nFrom: Customer <c@example.com>\nDate: Mon, Jan 2, 2023\n"
        "Subject: Broken\nTo: me@example.com\n\nThe device is broken.\n"
    )
    parts = parse_reply(body)
    assert parts.is_forward
    assert parts.text.startswith("Please look at this.")
    assert "The device is broken." in parts.text
    assert marker.strip() in parts.text


def test_apple_quoted_forward_is_kept_and_dequoted() -> None:
    body = "FYI\n\n> Begin forwarded message:\n>\n> From: A <a@example.com>\n> Subject: X\n>\n> Content here\n"
    result = extract_reply(body)
    assert "Content here" in result and "> " not in result


def test_forward_subject_keeps_an_outlook_shaped_forward() -> None:
    body = "See below.\n\nFrom: A <a@example.com>\nSent: Monday\nTo: B\nSubject: Order\n\nOrder content\n"
    assert extract_reply(body) == "See below."
    assert "Order content" in extract_reply(body, subject="FW: Order")
    assert "Order content" in extract_reply(body, subject="WG: Order")
    assert extract_reply(body, subject="RE: Order") == "See below."


# -- signatures ------------------------------------------------------------------------------------
SIGNOFFS = [
    "Sent from my iPhone",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from my Verizon Wireless BlackBerry",
    "Get Outlook for iOS<https://aka.ms/o0ukef>",
    "Get Outlook for Android",
    "Sent from Mail for Windows",
    "Sent from Yahoo Mail on Android",
    "Von meinem iPhone gesendet",
    "Gesendet von meinem iPad",
    "Envoyé de mon iPhone",
    "Enviado desde mi iPhone",
    "Enviado do meu iPhone",
    "Inviato da iPhone",
    "Verzonden vanaf mijn iPhone",
    "Sendt fra min iPhone",
    "Skickat från min iPhone",
    "Lähetetty iPhonesta",
    "Wysłane z mojego iPhone'a",
    "Отправлено с iPhone",
    "iPhoneから送信",
    "发自我的iPhone",
    "Holen Sie sich Outlook für Android",
]


@pytest.mark.parametrize("signoff", SIGNOFFS)
def test_mobile_signoffs_are_removed(signoff: str) -> None:
    assert extract_reply(f"Yes, please go ahead.\n\n{signoff}\n") == "Yes, please go ahead."


def test_signoff_alone_is_kept() -> None:
    assert extract_reply("Sent from my iPhone") == "Sent from my iPhone"


def test_sentence_starting_like_a_signoff_is_kept() -> None:
    body = "Here it is\n\nSent from my desk, is much easier than my mobile phone."
    assert extract_reply(body) == body


def test_signature_delimiter() -> None:
    assert extract_reply("Fixed.\n\n-- \nJohn Doe\nACME Corp\n+1 555 0100\n") == "Fixed."


def test_dashes_inside_a_line_are_not_a_delimiter() -> None:
    body = "And here is a fix -- this is not a signature.\n\nbye"
    assert extract_reply(body) == body


@pytest.mark.parametrize(
    "valediction",
    [
        "Best regards,",
        "Kind regards",
        "Mit freundlichen Grüßen",
        "Viele Grüße",
        "Cordialement,",
        "Saludos cordiales,",
        "Cordiali saluti",
        "Atenciosamente,",
        "Met vriendelijke groet,",
        "Med venlig hilsen",
        "Med vänlig hälsning,",
        "Vennlig hilsen",
        "Ystävällisin terveisin",
        "Pozdrawiam,",
        "С уважением,",
    ],
)
def test_valediction_with_name_is_removed(valediction: str) -> None:
    body = f"The update is installed.\n\n{valediction}\nJohn Doe\nIT Department\n"
    assert extract_reply(body) == "The update is installed."


def test_long_text_after_a_valediction_is_kept() -> None:
    body = (
        "Status update.\n\nRegards,\nJohn\n\nPS: one more thing that is important and needs to be said in full "
        "because it is a real sentence with many words in it."
    )
    assert extract_reply(body) == body


def test_strip_signature_never_empties() -> None:
    assert strip_signature("-- \nJohn") == "-- \nJohn"
    assert strip_signature("Hello\n-- \nJohn") == "Hello"


def test_windows_line_endings() -> None:
    body = "Done.\r\n\r\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris <c@example.com> wrote:\r\n> old\r\n"
    assert extract_reply(body) == "Done."


def test_nothing_to_remove_is_returned_trimmed() -> None:
    assert extract_reply("  Just a question: does it work?  \n\n") == "Just a question: does it work?"


def test_empty_inputs() -> None:
    assert extract_reply("") == ""
    assert extract_reply("", "") == ""
    assert extract_reply("   \n ") == ""
