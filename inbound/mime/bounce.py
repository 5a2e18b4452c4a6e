"""Recognising bounces (non-delivery reports) and the recipients that bounced.

Sources, most authoritative first: RFC 3464 delivery-status reports (``multipart/report``), the Exim
``X-Failed-Recipients`` header, then the human-readable templates of common MTAs (qmail, Postfix,
Sendmail, Exim, Exchange/Office 365, Gmail, Yahoo, AOL, GroupWise, ...), recognised by their standard
phrases and by the shapes in which they list recipients. A template is only believed when the sender or
subject also looks like a delivery system, so a person writing "could not be delivered" is not a bounce.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from inbound.mime.model import ParsedMessage

# Every quantifier is bounded (RFC 5321: local part <= 64, domain <= 255 characters), so one attempt costs at
# most a few hundred steps and a scan over n characters is linear even through a long run of "!" or "'".
ADDRESS = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.[A-Za-z]{2,63}"
_ADDRESS = re.compile(ADDRESS)
_ANY_ADDRESS = re.compile(rf"(?<![\w.+-])({ADDRESS})")
REGION_LINES = 25
MAX_RECIPIENTS = 100  # bounced recipients kept per report (the de-duplication is quadratic in their number)
DAEMON_LOCALPARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "mail-daemon",
        "maildaemon",
        "mailerdaemon",
        "mdaemon",
        "nobody",
        "mail.delivery.system",
        "bounce",
        "bounces",
        "mailer",
        "mail-delivery",
        "smtp",
        "daemon",
        "root",
    }
)
DAEMON_NAMES = re.compile(
    r"mail ?delivery (?:system|subsystem|service)|mailer[- ]daemon|postmaster|mail administrator"
    r"|microsoft outlook|delivery status|mail system",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|returned mail|mail delivery (?:failed|failure|system|problem)|failure notice"
    r"|delivery (?:status notification|failure|failed|notification|problem|report|error)|non[- ]?deliver"
    r"|could not (?:be )?deliver|not delivered|delivery has failed|returned to sender|mail system error"
    r"|could not send|delayed mail|rejected|nicht zustellbar|unzustellbar|unable to deliver|bounce"
    r"|message status|delivery (?:delayed|warning)|mail not delivered|permanent error|mail failure"
    r"|^warning:|\bdsn\b",
    re.IGNORECASE,
)
BODY_MARKERS = re.compile(
    r"could not be delivered|permanent fatal errors?|delivery to the following recipients? failed"
    r"|was not delivered to|wasn't delivered to|wasn't able to deliver|was unable to deliver|unable to deliver"
    r"|this is the qmail-send program|this is the mail system at host|created automatically by mail delivery"
    r"|did not reach (?:the following|some or all)|could not be reached|delivery has failed"
    r"|undeliverable|user unknown|unknown user|no such user|mailbox (?:unavailable|full|is full|not found)"
    r"|could not deliver|failed permanently|account that you tried to reach does not exist|delivery failed"
    r"|returned to the sender|permanent error|message could not be sent|recipient address rejected"
    r"|addresses failed|transient non-fatal errors?|has not yet been delivered|delivery (?:is )?delayed"
    r"|unrouteable|no mailbox here|not a valid (?:user|recipient|mailbox)|recipient(?:s)? failed"
    r"|following (?:recipients?|address(?:es)?) (?:had|failed|could|was|were)|message was undeliverable"
    r"|delivery (?:attempts|problems?)|is not (?:a )?(?:known|valid) (?:user|recipient)"
    r"|couldn't be delivered|couldn't deliver|not able to deliver|mail receiving disabled|over quota"
    r"|quota exceeded|bad destination|host unknown|unknown recipient|invalid recipient|no such (?:mailbox|address)"
    r"|nicht zugestellt|non remis|recipients? (?:is|are) unknown|intended recipient|failed addresses"
    r"|invalid final delivery|not delivered|error-for:|has been (?:delayed|postponed)|delivery failure"
    r"|error has occurred while attempting to deliver|did not (?:exactly )?match|delivery of (?:e-?mail|your message)",
    re.IGNORECASE,
)
TEMPORARY_MARKERS = re.compile(
    r"transient non-fatal|has not yet been delivered|delivery (?:is )?delayed"
    r"|will (?:continue|keep) (?:trying|to try)"
    r"|still (?:trying|retrying)|warning: message .{0,200}? still undelivered|this is a warning"
    r"|delay(?:ed)? (?:notice|warning)"
    r"|no action is required|will retry|retry(?:ing)? (?:for|until)",
    re.IGNORECASE,
)
ORIGINAL_START = re.compile(
    r"^[ \t>]*+(?:-{2,}+.*(?:original message|copy of (?:the )?message|returned message|message text|"
    r"headers? (?:of|and text)|undelivered message|original mail|rejected message)|"
    r"(?:below this line is a copy|-+ ?original message ?-+|the original message (?:headers|follows)|"
    r"original message follows|--- the header of the original|\*\*\* ?original)|received: (?:from|by) )",
    re.IGNORECASE | re.MULTILINE,
)
_PHRASE = re.compile(
    r"\b(?:undeliverable to|delivery to|failed (?:address|recipient)s?:?|unknown user:?|user unknown:?"
    r"|recipient:|not delivered to|no such user:?|rcpt to:|could not deliver (?:mail |message )?to"
    r"|unable to deliver (?:mail |message )?to|original-recipient:|bad address:?|invalid address:?"
    r"|addressed to|to the following address(?:es)?:?|mailbox|user)(?>\s++|\s*+[:<'\"]++\s*+)['\"<]?"
    rf"(?<![\w.+-])({ADDRESS})",
    re.IGNORECASE,
)
# Phrases of templates that are not in English (Japanese mobile carriers, Chinese webmail, European servers).
BODY_MARKERS_INTL = re.compile(
    r"宛先不明|配信(?:でき|され)ませんでした|送信(?:でき|され)ませんでした|届きませんでした|配送(?:でき|され)ませんでした"
    r"|不達|受信拒否|存在しない(?:メール)?アドレス|无法(?:发送|送达|投递)|投递失败|发送失败|退信|無法(?:傳送|送達|投遞)"
    r"|konnte nicht (?:zugestellt|ausgeliefert) werden|zustellung (?:ist )?fehlgeschlagen|unbekannter empf[äa]nger"
    r"|n'a pas pu [êe]tre (?:remis|distribu[ée])|adresse (?:inconnue|introuvable)|[ée]chec de (?:la )?remise"
    r"|no (?:se )?(?:ha )?pod(?:ido|ía) (?:ser )?entrega(?:do|r)|no se pudo entregar|destinatario desconocido"
    r"|non [èe] stato possibile (?:recapitare|consegnare)|impossibile recapitare|n[ãa]o (?:foi|pôde ser) entregue"
    r"|kon niet worden (?:afgeleverd|bezorgd)|не (?:может быть|удалось|было) доставлен|не доставлено"
    r"|nie (?:mo[żz]na|zosta[łl]a) (?:dostarczy[ćc]|dostarczona)",
)
# Opening lines by which servers name themselves in their notices (flufl.bounce's detectors key on the same ones).
TEMPLATE_SIGNATURES = re.compile(
    r"this is the qmail-send program|this is the mail system at host|this message was created automatically by mail"
    r" delivery software|the following message to <[^>\n]{1,200}> was undeliverable|i'm afraid i wasn't able to deliver"
    r"|your message did not reach some or all of the intended recipients|delivery to the following recipients?"
    r" failed(?: permanently)?|the original message was received at .{1,100} from|----- the following addresses had"
    r" (?:permanent )?fatal errors -----|not listed in (?:the )?(?:domino directory|public name & address book)"
    r"|the message that you sent was undeliverable to the following"
    r"|this is an automatically generated delivery status notification"
    r"|(?m:^[ \t]*-{2,} ?non-delivery report ?-{2,}[ \t]*$)",
)
# List managers refusing a post from someone who is not subscribed (Mailman, Majordomo, LISTSERV, Sympa, ezmlm).
LIST_REFUSAL = re.compile(
    r"(?:you are|you're|sender is|poster is|address is) not (?:a )?(?:member|subscriber|subscribed)"
    r"|not (?:a )?member of (?:the|this) (?:list|group|mailing list)|posts? (?:by|from) non-?members"
    r"|non-?member (?:posts?|submissions?)|only (?:list )?members (?:can|may) (?:post|send)"
    r"|you (?:must|need to) (?:be|become) (?:a )?(?:member|subscribed|subscriber)|not allowed to (?:post|send) to",
)
LIST_MANAGER_LOCALPART = re.compile(
    r"(?:-owner|-request|-bounces?|-admin)$|^(?:mailman|majordomo|listserv|listproc|sympa|ecartis|owner-.+)$",
    re.IGNORECASE,
)
# Set on a list manager's own notices (Mailman's X-List-Administrivia: yes), unlike X-Mailman-Version, which every
# post distributed by the list carries.
LIST_ADMIN_HEADER = "X-List-Administrivia"
_DSN_RECIPIENT = re.compile(r"^(?:final|original)-recipient:", re.IGNORECASE | re.MULTILINE)
# The phrase lists are long alternations, which Python's re tries at every position: with IGNORECASE that costs
# about a microsecond a character, so they are matched case-sensitively on lowercased text (their literals are
# lowercase) -- a hundred times faster on the same input.
_BODY_MARKERS_LOWER = re.compile(BODY_MARKERS.pattern)
_TEMPORARY_MARKERS_LOWER = re.compile(TEMPORARY_MARKERS.pattern)
_DSN_FIELD = re.compile(r"^([A-Za-z-]+):[ \t]*(.*)$", re.MULTILINE)


@dataclass(slots=True)
class BounceVerdict:
    bounce: bool = False
    recipients: list[str] = field(default_factory=list)
    temporary: bool = False
    reasons: list[str] = field(default_factory=list)


def _localpart(address: str) -> str:
    return address.rsplit("@", 1)[0].lower()


def _add(found: list[str], address: str) -> None:
    if len(found) >= MAX_RECIPIENTS:
        return
    address = re.sub(r"^(?:smtp|rfc822|x400)[=:;]", "", address.strip().strip("<>.'\""), flags=re.IGNORECASE)
    if "@" in address and address.lower() not in (f.lower() for f in found):
        found.append(address)


def delivery_status(reports: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Failed and delayed recipients from RFC 3464 ``message/delivery-status`` bodies."""
    failed: list[str] = []
    delayed: list[str] = []
    for report in reports:
        for block in re.split(r"\n[ \t]*\n", report.replace("\r", "")):
            fields = {name.lower(): value.strip() for name, value in _DSN_FIELD.findall(block)}
            # The original recipient is the address we sent to; the final one may be a rewritten mailbox.
            original = fields.get("original-recipient", "").split(";", 1)[-1].strip()
            recipient = original if _ADDRESS.fullmatch(original.strip("<>")) else fields.get("final-recipient", "")
            if not recipient:
                continue
            address = recipient.split(";", 1)[-1].strip()
            action = fields.get("action", "").lower()
            status = fields.get("status", "")
            if action.startswith("failed") or (not action and status.startswith("5")):
                _add(failed, address)
            elif action.startswith("delayed") or (not action and status.startswith("4")):
                _add(delayed, address)
    return failed, delayed


def find_phrase(lowercase: re.Pattern[str], text: str) -> tuple[int, str] | None:
    """Where the first phrase of ``lowercase`` (a pattern of lowercase literals) occurs in ``text`` in any case,
    and the phrase as written."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lowercase to two: positions would not line up
        match = re.compile(lowercase.pattern, re.IGNORECASE).search(text)
        return (match.start(), match.group(0)) if match else None
    match = lowercase.search(lowered)
    return (match.start(), text[match.start() : match.end()]) if match else None


def _human_part(text: str) -> str:
    match = ORIGINAL_START.search(text, 0, 200_000)
    return text[: match.start()] if match else text[:200_000]


def template_recipients(text: str, exclude: set[str]) -> list[str]:
    """Recipients listed by a human-readable NDR: address lines after the first bounce phrase."""
    human = _human_part(text)
    found: list[str] = []
    marker = find_phrase(_BODY_MARKERS_LOWER, human)
    if marker or human:
        # Templates name the recipients next to their first bounce phrase, often a line before it.
        at = marker[0] if marker else 0
        line_start = human.rfind("\n", 0, max(0, human.rfind("\n", 0, at)))
        lines = [line for line in human[max(0, line_start) :].splitlines() if line.strip()][:REGION_LINES]
        for address in _ANY_ADDRESS.findall("\n".join(lines)):
            if address.lower() not in exclude and _localpart(address) not in DAEMON_LOCALPARTS:
                _add(found, address)
    if not found:
        for match in _PHRASE.finditer(human):
            if match.group(1).lower() not in exclude and _localpart(match.group(1)) not in DAEMON_LOCALPARTS:
                _add(found, match.group(1))
    return found


def _from_daemon(msg: ParsedMessage) -> str:
    if msg.return_path == "":
        return "null Return-Path <>"
    if msg.from_ is None and re.search(r"<\s*>", msg.header("From")):
        return "null From address <>"
    for address in (msg.from_, msg.sender):
        if address is None:
            continue
        if _localpart(address.email) in DAEMON_LOCALPARTS:
            return f"sender {address.email} is a mail delivery system"
        if DAEMON_NAMES.search(address.name):
            return f"sender name {address.name!r} is a mail delivery system"
    return ""


# Local parts and display names that only delivery software and mail gateways use (a token of the address:
# "E500_SMTP_Mail_Service", "Symantec_AntiVirus_for_SMTP_Gateways", "inetgw1", "Postmaster\\@host", "imss").
MACHINE_LOCALPART = re.compile(
    r"(?:^|[<._\-\\\s\"])(?:mailer-?daemon|mail-?daemon|postmaster|smtp|mta|e?-?mail[_ ]?service"
    r"|e?-?mail[_ ]?gateway|gateways?|antivirus|anti-virus|virus[_-]?scan\w*|inetgw\d*|imss|system administrator"
    r"|mail[_ ]?delivery"
    r"|delivery[_-]?(?:status|notification|system|subsystem))(?:$|[._\-\\\s\"@\d])",
    re.IGNORECASE,
)
BODY_MARKERS_EXTRA = re.compile(
    r"cannot be delivered|can't be delivered|could not be (?:sent|transmitted|forwarded)|was not (?:sent|accepted)"
    r"|mail (?:error|failure)|returned (?:mail|message)|no such (?:recipient|domain)|unknown (?:address|domain|host)"
    r"|(?:domain|host) (?:not found|unknown)|address (?:rejected|unknown|not found)|mailbox (?:space|quota)"
    r"|delivery (?:failure|notification)|non[- ]?delivery|not (?:be )?reached|could not reach|failed recipients?"
    r"|this is the mailer-daemon|delivery status notification from|running the courier mail server"
    r"|wasn't delivered to (?:the )?group|did not receive (?:this|your) message|transcript of session follows"
    r"|returning message to sender|(?:message|mail) (?:was |has been )?(?:rejected|refused|blocked|returned|bounced)"
    r"|relay(?:ing)? (?:access )?denied|access denied|account (?:is )?(?:disabled|inactive|suspended|closed)"
    r"|not (?:be )?deliver(?:ed|able)|delivery (?:has )?failed|message details|recipient (?:not found|rejected)",
)
# BODY_MARKERS_INTL, TEMPLATE_SIGNATURES, LIST_REFUSAL and BODY_MARKERS_EXTRA are lowercase literals searched with
# find_phrase on lowercased text, like BODY_MARKERS (see _BODY_MARKERS_LOWER).
RETURNED_PART_TYPES = frozenset({"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"})
REPLY_SUBJECT = re.compile(  # a person's reply or forward ("Re:", "AW:", "Fwd:", "回复:")
    r"^\s*(?:re|aw|sv|vs|antw|odp|ynt|fw|fwd|wg|tr|rv|ответ|回复|答复|返信)\s*(?:\[\d+\])?\s*[:\uff1a]", re.IGNORECASE
)
MAX_JSON = 1_000_000


def _is_disposition_only(reports: tuple[str, ...]) -> bool:
    """True when every report is an RFC 8098 read receipt (``Disposition:``), not a delivery status."""
    lowered = [r.lower() for r in reports]
    return bool(lowered) and all(
        re.search(r"^disposition:", r, re.MULTILINE) and not re.search(r"^(?:action|status):", r, re.MULTILINE)
        for r in lowered
    )


def _json_objects(text: str) -> list[dict[str, object]]:
    """The JSON object a body consists of, and the SNS envelope's ``Message`` when it is one."""
    body = text.strip()
    if not body.startswith("{") or len(body) > MAX_JSON:
        return []
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found = [data]
    inner = data.get("Message")
    if isinstance(inner, str) and inner.lstrip().startswith("{"):
        try:
            message = json.loads(inner)
        except ValueError:
            message = None
        if isinstance(message, dict):
            found.append(message)
    return found


def ses_notification(msg: ParsedMessage) -> BounceVerdict | None:
    """An Amazon SES bounce notification (sent by e-mail directly or through SNS): a JSON document whose
    ``notificationType`` (or ``eventType``) is ``Bounce``; ``bounceType`` ``Transient`` is a temporary failure."""
    for data in _json_objects(msg.body_text):
        kind = data.get("notificationType") or data.get("eventType")
        bounce = data.get("bounce")
        if kind != "Bounce" or not isinstance(bounce, dict):
            continue
        verdict = BounceVerdict(bounce=True, reasons=["Amazon SES bounce notification (JSON)"])
        for entry in bounce.get("bouncedRecipients") or []:
            if isinstance(entry, dict) and isinstance(entry.get("emailAddress"), str):
                _add(verdict.recipients, entry["emailAddress"])
        verdict.temporary = str(bounce.get("bounceType", "")).lower() == "transient"
        return verdict
    return None


def list_refusal(msg: ParsedMessage, exclude: set[str]) -> BounceVerdict | None:
    """A list manager's refusal of a post from a non-member (Mailman, Majordomo, LISTSERV, Sympa, ...): the post
    was not delivered. Needs the list software as the sender (its address or its own header), never words alone."""
    sender = msg.from_.email if msg.from_ else ""
    machine = bool(sender) and bool(LIST_MANAGER_LOCALPART.search(_localpart(sender)))
    machine = machine or _value_of(msg, LIST_ADMIN_HEADER).lower() == "yes" or bool(_from_daemon(msg))
    if not machine or REPLY_SUBJECT.match(msg.subject):
        return None
    text = _human_part(msg.reply_text or msg.body_text)[:20_000]
    hit = find_phrase(LIST_REFUSAL, text)
    if not hit:
        return None
    verdict = BounceVerdict(bounce=True, reasons=[f"list manager refused the post ({hit[1]!r})"])
    for address in _ANY_ADDRESS.findall(text[max(0, hit[0] - 2000) : hit[0] + len(hit[1]) + 2000]):
        local = _localpart(address)
        if address.lower() in exclude or local in DAEMON_LOCALPARTS:
            continue
        if not LIST_MANAGER_LOCALPART.search(local):
            _add(verdict.recipients, address)
            break
    return verdict


def machine_sender(msg: ParsedMessage) -> str:
    """Why the message comes from delivery software beyond ``_from_daemon``: a daemon envelope sender or Exchange's
    NDR header; or ""."""
    if msg.return_path and _localpart(msg.return_path) in DAEMON_LOCALPARTS:
        return f"envelope sender {msg.return_path} is a mail delivery system"
    if msg.header_all("X-MS-Exchange-Message-Is-Ndr"):
        return "X-MS-Exchange-Message-Is-Ndr header (Exchange non-delivery report)"
    return ""


def gateway_sender(msg: ParsedMessage) -> str:
    """Why the sender's address or name is a mail gateway's or delivery software's ("E500_SMTP_Mail_Service",
    "Symantec_AntiVirus_for_SMTP_Gateways", "inetgw1", "System Administrator"), or "". Weaker than a daemon:
    believed together with a failure subject."""
    for address in (msg.from_, msg.sender):
        if address is not None and MACHINE_LOCALPART.search(address.email.rsplit("@", 1)[0]):
            return f"sender {address.email} is delivery software or a mail gateway"
        if address is not None and address.name and MACHINE_LOCALPART.search(address.name):
            return f"sender name {address.name!r} is delivery software or a mail gateway"
    raw = msg.header("From")[:500]
    if "@" in raw and MACHINE_LOCALPART.search(raw.rsplit("@", 1)[0]):  # an address the parser could not read
        return f"sender {raw.strip()!r} is delivery software or a mail gateway"
    return ""


def returns_original(msg: ParsedMessage) -> bool:
    """The message carries a returned original (a message/rfc822 part or its headers), as NDR templates do."""
    return any(a.content_type.lower() in RETURNED_PART_TYPES for a in msg.attachments) or bool(msg.enclosed_headers)


def _value_of(msg: ParsedMessage, name: str) -> str:
    return msg.header(name).strip()


def detect_bounce(msg: ParsedMessage) -> BounceVerdict:
    verdict = BounceVerdict()
    exclude = {a.email.lower() for a in (*msg.to, *msg.cc, msg.from_, msg.sender) if a is not None}
    exclude |= {m.lower() for m in (msg.message_id, msg.in_reply_to, *msg.references)}
    if msg.report_type in {"delivery-status", "global-delivery-status"} or (
        msg.reports
        and any("final-recipient" in r.lower() or _DSN_RECIPIENT.search(r) for r in msg.reports)  # in any container
        and not _is_disposition_only(msg.reports)  # a read receipt (RFC 8098) is not a failure
    ):
        failed, delayed = delivery_status(msg.reports)
        if failed or delayed or msg.report_type:
            verdict.bounce = True
            verdict.reasons.append("delivery status notification (multipart/report; RFC 3464)")
            verdict.recipients = failed or delayed
            verdict.temporary = not failed and bool(delayed)
    failed_header = ", ".join(msg.header_all("X-Failed-Recipients"))
    if failed_header:
        verdict.bounce = True
        verdict.reasons.append("X-Failed-Recipients header")
        for address in _ADDRESS.findall(failed_header):
            _add(verdict.recipients, address)
    if not verdict.bounce:
        for detector in (ses_notification(msg), list_refusal(msg, exclude)):
            if detector is not None:
                return detector
    daemon = _from_daemon(msg) or machine_sender(msg)
    subject_hit = BOUNCE_SUBJECT.search(msg.subject)
    if not daemon and subject_hit and not REPLY_SUBJECT.match(msg.subject):
        daemon = gateway_sender(msg)
    body = msg.body_text[:300_000]
    human = _human_part(body)
    body_hit = find_phrase(_BODY_MARKERS_LOWER, human)
    if not body_hit and daemon:
        body_hit = find_phrase(BODY_MARKERS_INTL, human) or find_phrase(BODY_MARKERS_EXTRA, human)
    # Without a delivery system as the sender, words are believed only from a server's own template opening, in
    # the new text of a message that is not a reply: a person quoting a bounce is not one (issue 16).
    new_text = _human_part(msg.reply_text[:300_000]) if msg.reply_text else human
    template = None if daemon or REPLY_SUBJECT.match(msg.subject) else find_phrase(TEMPLATE_SIGNATURES, new_text)
    if not daemon and not template and subject_hit and not REPLY_SUBJECT.match(msg.subject) and returns_original(msg):
        template = find_phrase(_BODY_MARKERS_LOWER, new_text)  # an NDR's shape: failure subject, text, the original
    submitted = _value_of(msg, "Auto-Submitted").lower()
    if not daemon and not template and subject_hit and submitted and not submitted.startswith("no"):
        # RFC 3834: software wrote it; a failure subject and a failure phrase make it a notice, not a vacation reply.
        template = find_phrase(_BODY_MARKERS_LOWER, new_text)
    if not daemon and not template:
        body_hit = None
    elif template and not body_hit:
        body_hit = template
    if not verdict.bounce and ((body_hit and (daemon or subject_hit)) or (daemon and subject_hit)):
        verdict.bounce = True
        if daemon:
            verdict.reasons.append(daemon)
        if subject_hit:
            verdict.reasons.append(f"subject looks like a delivery failure ({subject_hit.group(0)!r})")
        if body_hit:
            verdict.reasons.append(f"delivery-failure text ({body_hit[1]!r})")
    if verdict.bounce and not verdict.recipients:
        verdict.recipients = template_recipients(body, exclude)
    if verdict.bounce and not verdict.temporary and not msg.report_type:
        still_trying = find_phrase(_TEMPORARY_MARKERS_LOWER, _human_part(body))
        verdict.temporary = bool(still_trying or re.search(r"warning|delay", msg.subject, re.IGNORECASE))
    return verdict
