"""Recognising bounces (non-delivery reports) and the recipients that bounced.

Sources, most authoritative first: RFC 3464 delivery-status reports (``multipart/report``), the Exim
``X-Failed-Recipients`` header, then the human-readable templates of common MTAs (qmail, Postfix,
Sendmail, Exim, Exchange/Office 365, Gmail, Yahoo, AOL, GroupWise, ...), recognised by their standard
phrases and by the shapes in which they list recipients. A template is only believed when the sender or
subject also looks like a delivery system, so a person writing "could not be delivered" is not a bounce.
"""

from __future__ import annotations

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
    for address in (msg.from_, msg.sender):
        if address is None:
            continue
        if _localpart(address.email) in DAEMON_LOCALPARTS:
            return f"sender {address.email} is a mail delivery system"
        if DAEMON_NAMES.search(address.name):
            return f"sender name {address.name!r} is a mail delivery system"
    return ""


def detect_bounce(msg: ParsedMessage) -> BounceVerdict:
    verdict = BounceVerdict()
    exclude = {a.email.lower() for a in (*msg.to, *msg.cc, msg.from_, msg.sender) if a is not None}
    exclude |= {m.lower() for m in (msg.message_id, msg.in_reply_to, *msg.references)}
    if msg.report_type in {"delivery-status", "global-delivery-status"} or (
        msg.reports and any("final-recipient" in r.lower() for r in msg.reports)
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
    daemon = _from_daemon(msg)
    subject_hit = BOUNCE_SUBJECT.search(msg.subject)
    body = msg.body_text[:300_000]
    body_hit = find_phrase(_BODY_MARKERS_LOWER, _human_part(body))
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
