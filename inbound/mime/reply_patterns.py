"""Line patterns used by reply extraction: attribution lines, separators, header blocks, sign-offs.

Every pattern is applied to ONE line (or to at most three short lines joined with a space), is anchored,
and has no nested quantifiers, so the cost is linear in the body size. Patterns follow what real mail
clients write (Gmail, Outlook desktop/web/mobile, Apple Mail, Thunderbird, Yahoo, mobile apps), in
English, German, French, Spanish, Italian, Portuguese, Dutch, Danish, Swedish, Norwegian, Finnish,
Polish, Russian, Japanese, Chinese and a few more.
"""
# ruff: noqa: RUF001  # multilingual mail text: full-width colons and Cyrillic are intended

from __future__ import annotations

import re

# Private-use characters the HTML converter uses to pass structure to the text algorithm.
STRONG_MARK = "\ue000"  # a quoted-history container starts here (Outlook divRplyFwdMsg, yahoo_quoted, ...)
WEAK_MARK = "\ue001"  # a horizontal rule / top-bordered block: history only if a header block follows
ATTR_MARK = "\ue002"  # the next line(s) are an attribution (gmail_attr, moz-cite-prefix)
MARKS = STRONG_MARK + WEAK_MARK + ATTR_MARK
MARK_TABLE = str.maketrans("", "", MARKS)

MAX_LINE = 1000  # longer lines are never separators / attributions
ZERO_WIDTH = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060\u200e\u200f")

QUOTED = re.compile(r"^[ \t]*>")

# --- attribution lines ("On <date>, <name> wrote:") ------------------------------------------------
# Verbs that end an attribution line, in the clients' languages.
_VERBS_END = (
    r"wrote|writes|said|escribió|escribio|escrito|a écrit|a ecrit|écrit|ha scritto|scrisse|escreveu"
    r"|schreef|geschreven|skrev|skreiv|kirjoitti|napisał\(a\)|napisała|napisał|napisal|pisze|napsal\(a\)"
    r"|napsal|пишет|написал\(а\)|написала|написал|написав|écrivait|schrieb|yazdı|írta|έγραψε|scrie"
    r"|写道|寫道|が書きました|書きました|작성|님이 작성"
    r"|пише|написа|написав\(ла\)|написао/ла|написао|написала је|написао је|napisao/la|napisao je|napisala je|napisao"
    r"|napisala|napísal\(a\)|napísal|napísala|rašė|kirjutas|rakstīja|đã viết|menulis|va escriure|escrigué"
    r"|skrifaði|kirjoitti|نوشت|ने लिखा|เขียนว่า|כתב|כתבה|כתב/ה"
)
# Verbs that may be followed by the sender's name before the colon ("Am ..., schrieb John <j@x>:").
_VERBS_MID = r"schrieb|skrev|schreef|wrote|escribió|a écrit|ha scritto|escreveu|kirjoitti|napisał\(a\)|كتب"

# Both are applied to the END of a (joined) line only, so their cost does not grow with the line.
ATTRIBUTION_VERB_END = re.compile(rf"\S\s?(?<!\w)(?:{_VERBS_END})\s*[:：]\s*$", re.IGNORECASE)
ATTRIBUTION_VERB_MID = re.compile(rf"\S\s(?:{_VERBS_MID})\b[^:：]{{1,200}}[:：]\s*$", re.IGNORECASE)
# The verb followed by the date, which has colons of its own: "<name> a scris în lun., 3 mar. 2025 la 10:12:"
# (Gmail ro), "<name> ezt írta (időpont: 2025. márc. 3., H, 10:12):" (Gmail hu), "<name> wrote on <date>:".
ATTRIBUTION_VERB_DATE = re.compile(
    r"\S\s(?:a scris (?:în|pe|la)|ezt írta \(időpont:|wrote on|schrieb am|escribió el|a écrit le|написал\(а\))"
    r"\s.{1,160}\d{1,2}[:.]\d{2}\)?\s*[:：]\s*$",
    re.IGNORECASE,
)
# Gmail's form without a verb in several locales (ja, ru, he, ...): "<date> <time>, <name> <address>:", the address
# in angle brackets right before the final colon; a year and a time must precede it (checked with YEAR and TIME).
ATTRIBUTION_NO_VERB = re.compile(r"<\s?[^<>\s@]{1,64}@[^<>\s@]{1,255}>\)?\s*[:：]\s*$")
YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
TIME = re.compile(r"(?<!\d)\d{1,2}[:.]\d{2}(?!\d)")
# A line that only closes an attribution whose address was wrapped ("<john@example.com" / ">:" or "> wrote:").
ATTRIBUTION_CLOSER = re.compile(r"^[ \t]*>[ \t]*(?:[^\s>:：][^:：>]{0,40})?[:：][ \t]*$")
OPEN_ADDRESS_END = re.compile(r"<[^<>\s@]{1,64}@[^<>\s@]{1,255}$")
# CJK verbs have no word boundaries; accept them anywhere before the final colon.
ATTRIBUTION_CJK = re.compile(r"(?:写道|寫道|書きました|작성)\s*[:：]\s*$")

DATE = re.compile(r"\d{1,2}[:.]\d{2}|\d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
DATE_OR_ADDRESS = re.compile(r"\d{1,2}[:.]\d{2}|\d{4}|@|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")

# --- "-----Original Message-----" and its translations ----------------------------------------------
_ORIGINAL = (
    r"original message|original-nachricht|ursprüngliche nachricht|ursprungliche nachricht"
    r"|message d'origine|message original|mensaje original|messaggio originale|mensagem original"
    r"|oorspronkelijk bericht|origineel bericht|oprindelig meddelelse|oprindelig besked|opprinnelig melding"
    r"|ursprungligt meddelande|originalmeddelande|alkuperäinen viesti|wiadomość oryginalna"
    r"|oryginalna wiadomość|исходное сообщение|原始邮件|原始郵件|原邮件|元のメッセージ|원본 메시지"
    r"|orijinal mesaj|původní zpráva|eredeti üzenet|αρχικό μήνυμα|originalna poruka|mesaj original"
    r"|reply message|reply separator"
)
ORIGINAL_SEPARATOR = re.compile(
    rf"^[\s>*]*[-_=]{{2,}}\s*(?:{_ORIGINAL})\s*[-_=]*\s*$",
    re.IGNORECASE,
)

# --- forward markers --------------------------------------------------------------------------------
_FORWARD_DASHED = (
    r"forwarded message|forwarded e-?mail|weitergeleitete nachricht|weitergeleitete e-mail"
    r"|message transféré|message transfere|mensaje reenviado|correo reenviado|messaggio inoltrato"
    r"|mensagem encaminhada|mensagem reencaminhada|doorgestuurd bericht|doorgestuurde e-mail"
    r"|videresendt meddelelse|videresendt besked|videresendt melding|vidarebefordrat meddelande"
    r"|välitetty viesti|edelleenlähetetty viesti|wiadomość przekazana|przekazana wiadomość"
    r"|пересылаемое сообщение|переадресованное сообщение|пересланное сообщение|转发邮件|轉寄郵件|转发的邮件"
    r"|転送メッセージ|転送されたメッセージ|전달된 메시지|iletilen ileti|přeposlaná zpráva|továbbított üzenet"
)
_FORWARD_BEGIN = (
    r"begin forwarded message|anfang der weitergeleiteten nachricht|beginn der weitergeleiteten nachricht"
    r"|début du message réexpédié|début du message transféré|début du message réenvoyé"
    r"|inicio del mensaje reenviado|comienzo del mensaje reenviado|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada|início da mensagem encaminhada|begin doorgestuurd bericht"
    r"|start på videresendt besked|start på videresendt melding|vidarebefordrat brev"
    r"|början på vidarebefordrat brev|välitetty viesti alkaa|początek przekazywanej wiadomości"
    r"|начало переадресованного сообщения|начало пересылаемого сообщения|以下为转发的邮件|転送されたメッセージ"
)
FORWARD_MARKER = re.compile(
    rf"^[\s>*]*[-_=]{{2,}}\s*(?:{_FORWARD_DASHED})\s*[-_=]*\s*$"
    rf"|^[\s>*]*(?:{_FORWARD_BEGIN})\s*[:：]?\s*$",
    re.IGNORECASE,
)

# --- header blocks ("From: x / Sent: y / To: z / Subject: w") ---------------------------------------
_FROM = (
    r"from|von|de|da|van|fra|från|frá|lähettäjä|od|от|от кого|kimden|feladó|από|发件人|寄件者|寄件人"
    r"|差出人|送信者|보낸 사람|보낸사람|afzender|expéditeur|remitente|mittente|remetente|nadawca"
    r"|odesílatel|відправник|від|من|المرسل|מאת|từ|dari|จาก|de la|šalje|nuo|odosielateľ"
)
_OTHER = (
    r"sent|date|to|cc|bcc|subject|reply-to|gesendet|datum|an|kopie|betreff|envoyé|envoye|à|a|objet"
    r"|enviado|enviada|fecha|para|asunto|inviato|data|oggetto|verzonden|aan|onderwerp|sendt|til|emne"
    r"|skickat|till|ämne|kopia|lähetetty|vastaanottaja|aihe|päivämäärä|wysłano|wysłane|do|temat|dw"
    r"|отправлено|дата|кому|копия|тема|发送时间|发送日期|日期|时间|收件人|抄送|主题|傳送時間|收件者|副本|主旨"
    r"|送信日時|日時|宛先|件名|cc|보낸 날짜|받는 사람|제목|tarih|gönderildi|kime|konu|elküldve|címzett"
    r"|tárgy|στάλθηκε|προς|θέμα|odesláno|komu|předmět|sendt den|envoyé le"
    r"|надіслано|тема листа|تاريخ الإرسال|أُرسل|إلى|الموضوع|נשלח|אל|נושא|đã gửi|đến|chủ đề|dikirim|kepada|perihal"
    r"|subjek|ส่ง|ถึง|เรื่อง|trimis|către|subiect|poslano|prima|predmet|изпратено|до|относно|odoslané|išsiųsta|kam"
    r"|enviat|per a|assumpte|cc"
)
# Possessive quantifiers (``*+``) over the runs of spaces, ">" and "*": a line of 5,000 spaces took these 30 s when
# the engine tried every way of sharing the run between neighbouring quantifiers.
HEADER_FROM = re.compile(rf"^[\s>]*+\**+\s*+(?:{_FROM})\s*+\**+\s*+[:：]\**+\s*+\S", re.IGNORECASE)
HEADER_ANY = re.compile(rf"^[\s>]*+\**+\s*+(?:{_FROM}|{_OTHER})\s*+\**+\s*+[:：]", re.IGNORECASE)
# A short label followed by a colon, in any language (used only after an HTML rule / top border).
GENERIC_HEADER = re.compile(r"^\s*+\**+\s*+[^\s:：]{1,20}(?: [^\s:：]{1,20}){0,2}\s*+\**+\s*+[:：]\s*+\**+\s*+\S")

# --- "reply above this line": the top of a notification (ours, and helpdesks' like it); what follows is history ---
REPLY_ABOVE_MARKER = re.compile(
    r"^[\s>#=*_~-]*(?:please\s+)?(?:type\s+|write\s+)?(?:your\s+)?reply\s+above\s+this\s+line\b",
    re.IGNORECASE,
)

SEPARATOR_LINE = re.compile(r"^\s*(?:[-_=*—–]\s*){5,}$")  # "________", "-----", " ------------ "

# --- signatures ---------------------------------------------------------------------------------
SIG_DELIMITER = re.compile(r"^(?:-- ?|--\xa0|__)\s*$")
_DEVICE = r"[\w'’.+,&™®-]{1,20}(?: [\w'’.+,&™®-]{1,20}){0,4}"
MOBILE_SIGNOFF = re.compile(
    rf"^\s*(?:sent from my {_DEVICE}"
    r"|sent from (?:mail|outlook|yahoo mail|aol mobile mail|windows mail|gmail|proton ?mail) for \w+(?: \w+)?"
    rf"|sent from (?:yahoo mail|outlook|gmail|proton ?mail|mail) on {_DEVICE}"
    r"|sent from (?:mail|outlook|my mobile|samsung mobile|my samsung galaxy[\w ]*|yahoo mail|aol mobile mail)"
    rf"|sent via {_DEVICE}|sent using {_DEVICE}|sent with {_DEVICE}|sent from {_DEVICE} (?:mobile|phone|device)"
    rf"|sent from the {_DEVICE} (?:app|application)(?: for {_DEVICE})?|sent from {_DEVICE} for {_DEVICE}"
    rf"|sent from {_DEVICE} on {_DEVICE}|enviado do {_DEVICE} no {_DEVICE}|enviado desde {_DEVICE} en {_DEVICE}"
    rf"|envoyé de {_DEVICE} sur {_DEVICE}|gesendet von {_DEVICE} auf {_DEVICE}|inviato da {_DEVICE} su {_DEVICE}"
    rf"|enviado desde {_DEVICE} para (?:ios|android)|enviado (?:a partir )?do {_DEVICE} para (?:ios|android)"
    rf"|envoyé (?:à partir )?d[e']\s?{_DEVICE} pour (?:ios|android)|inviato da {_DEVICE} per (?:ios|android)"
    rf"|von meinem/meiner {_DEVICE} gesendet|von meiner {_DEVICE} gesendet|gesendet mit {_DEVICE}"
    rf"|odesláno z {_DEVICE}|odoslané z {_DEVICE}|poslano z {_DEVICE}|küldve {_DEVICE}"
    rf"|{_DEVICE}(?:'|’)?(?:umdan|imden|dan|den|tan|ten) gönderildi|{_DEVICE}에서 보냄|{_DEVICE}에서 보냈습니다"
    rf"|lähetetty {_DEVICE}(?:sta|stä)|verzonden vanaf {_DEVICE}|sendt fra {_DEVICE}"
    rf"|отправлено из {_DEVICE}|надіслано з {_DEVICE}|изпратено от {_DEVICE}"
    r"|get outlook for (?:ios|android|mac|windows)|holen sie sich outlook für (?:ios|android)"
    r"|obtenir outlook pour (?:ios|android)|obtener outlook para (?:ios|android)"
    r"|scarica outlook per (?:ios|android)|baixe o outlook para (?:ios|android)"
    r"|download outlook voor (?:ios|android)|hämta outlook för (?:ios|android)"
    rf"|von meinem {_DEVICE} gesendet|gesendet von meinem {_DEVICE}|gesendet von {_DEVICE}"
    rf"|envoyé de mon {_DEVICE}|envoyé depuis mon {_DEVICE}|envoyé à partir de {_DEVICE}"
    rf"|enviado desde mi {_DEVICE}|enviado de mi {_DEVICE}|enviado do meu {_DEVICE}|enviado de meu {_DEVICE}"
    rf"|inviato da(?:l mio)? {_DEVICE}|verzonden (?:vanaf|met) (?:mijn )?{_DEVICE}"
    rf"|verstuurd vanaf (?:mijn )?{_DEVICE}|sendt fra min {_DEVICE}|skickat från min {_DEVICE}"
    rf"|sendt fra {_DEVICE}|skickat från {_DEVICE}|lähetetty {_DEVICE}"
    rf"|wysłane z (?:mojego )?{_DEVICE}|wysłano z (?:mojego )?{_DEVICE}"
    rf"|отправлено с(?: моего)? {_DEVICE}|отправлено из {_DEVICE}"
    r"|\w{0,12}iphoneから送信|iphoneから送信|发自我的\w{1,20}|發自我的\w{1,20}|从我的\w{1,20}发送"
    r"|從我的\w{1,20}傳送|来自\w{1,20}"
    r")\s*[.!]?\s*(?:<[^<>\s]{1,300}>)?\s*(?:for (?:ios|android|windows(?: 10| 11)?))?\s*$",
    re.IGNORECASE,
)
# A sign-off that names a device or a mail app: only these end the new text when unquoted history follows them
# ("Sent from my iPhone" above the notification a phone client appended without '>').
_DEVICE_WORDS = (
    r"iphon|ipad|android|galaxy|samsung|outlook|yahoo|gmail|blackberry|huawei|xiaomi|pixel|nokia|spark|aol|proton"
    r"|mobile|smartphone|phone|handy|móvil|movil|tablet|ios|mail|почт|моб|телефон|手机|手機|携帯|スマートフォン"
    r"|airmail|bluemail|edison|fairemail|k-9|tutanota|superhuman|newton|windows"
)
DEVICE_WORD = re.compile(_DEVICE_WORDS, re.IGNORECASE)
VALEDICTION = re.compile(
    r"^\s*(?:(?:best|kind|warm|warmest|many|with best|with kind|thanks and|thanks &|thanks &amp;) regards"
    r"|regards|best|best wishes|sincerely|yours sincerely|yours truly|yours faithfully|respectfully|cordially"
    r"|mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|freundliche grüsse"
    r"|viele grüße|viele grüsse|beste grüße|beste grüsse|liebe grüße|liebe grüsse|lg|mfg|vg|gruß|grüße"
    r"|cordialement|bien cordialement|bien à vous|salutations|sincères salutations|meilleures salutations"
    r"|saludos|saludos cordiales|un saludo|atentamente|cordiali saluti|distinti saluti|saluti"
    r"|atenciosamente|cumprimentos|abraços|met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?"
    r"|groeten|mvg|med venlig hilsen|venlig hilsen|de bedste hilsner|mvh|kh|hilsen|med vänlig hälsning"
    r"|med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh|vennlig hilsen|med vennlig hilsen"
    r"|ystävällisin terveisin|terveisin|parhain terveisin|pozdrawiam|z poważaniem|z powazaniem"
    r"|pozdrowienia|с уважением|с наилучшими пожеланиями|всего доброго|敬具|此致|此致敬礼|祝好|顺祝商祺)"
    r"\s*[,.!]?\s*$",
    re.IGNORECASE,
)
HYPHEN_NAME = re.compile(r"^\s*(?:-|--|—|–)\s?[A-ZÀ-ÖØ-Þ][\w.'’-]*(?: [\w.'’-]+){0,3}\s*$|^\s*/[A-Z]\w{1,20}\s*$")
LIST_FOOTER = re.compile(r"^\s*_{10,}\s*$")
