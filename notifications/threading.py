"""Threading and loop-safety identifiers of our notification mail: pure functions (settings, no database).

What outbound mail carries, and what the inbound pipeline uses to recognise it:

- **Message-ID** ``<jemh.{instance}.{ISSUE-KEY}.{random}@{host}>`` (:func:`new_message_id`), and a stable per-issue
  root ``<jemh.{instance}.{ISSUE-KEY}@{host}>`` (:func:`thread_root_id`) that every notification of the issue
  lists first in ``References``. ``{host}`` is ``settings.JEMH_MESSAGE_ID_DOMAIN``.
  :func:`parse_our_message_id` gives ``(instance_id, issue_key)`` back for an id we made (any of
  :func:`own_message_id_domains`), so a reply whose ``In-Reply-To``/``References`` name one of ours belongs to
  that issue. Message-IDs are *not* signed (a sender could copy one): they are the same kind of evidence as any
  mail client's threading, weaker than the reply token.
- **Reply address** ``support+t-{token}@example.com`` (:func:`reply_address_for`): the token carries instance,
  issue key and a short hash of the recipient, signed with an HMAC (keyed by ``SECRET_KEY``, truncated to 80
  bits). Everything is lower case, because mail servers may fold the case of local parts.
  :func:`parse_reply_address` verifies it (constant-time compare) and returns a :class:`ReplyToken` or None.
- **Fingerprint header** ``X-JEMH-Fingerprint: {instance}:{hmac}`` (:func:`fingerprint_for`). Its name is the
  default of ``inbound.mime`` (``ClassifierConfig.fingerprint_header``), so the classifier flags our own mail
  coming back as a loop; :func:`is_our_fingerprint` checks a value really came from this installation.

Rotating ``SECRET_KEY`` invalidates old reply tokens and fingerprints: replies then still associate through
Message-IDs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

FINGERPRINT_HEADER = "X-JEMH-Fingerprint"  # == inbound.mime.model.DEFAULT_FINGERPRINT_HEADER
DEFAULT_DOMAIN = "jemh.invalid"
_ISSUE_KEY = r"[A-Za-z][A-Za-z0-9_]*-[0-9]+"
_OUR_ID = re.compile(rf"^jemh\.(?P<instance>[0-9]+)\.(?P<key>{_ISSUE_KEY})(?:\.(?P<random>[A-Za-z0-9_-]+))?$")
_TOKEN = re.compile(rf"^t-(?P<instance>[0-9]+)\.(?P<key>{_ISSUE_KEY})\.(?P<rh>[0-9a-f]{{8}})\.(?P<mac>[a-z2-7]{{16}})$")
_FINGERPRINT = re.compile(r"^(?P<instance>[0-9]+):(?P<mac>[0-9a-f]{24})$")


def _key(purpose: str) -> bytes:
    return hashlib.sha256(f"jemh-notifications:{purpose}:{settings.SECRET_KEY}".encode()).digest()


def _mac(purpose: str, message: str) -> bytes:
    return hmac.new(_key(purpose), message.encode("utf-8"), hashlib.sha256).digest()


# -- Message-IDs -----------------------------------------------------------------------------------------------


def message_id_domain() -> str:
    """The host part of our Message-IDs (``settings.JEMH_MESSAGE_ID_DOMAIN``)."""
    return (getattr(settings, "JEMH_MESSAGE_ID_DOMAIN", "") or DEFAULT_DOMAIN).strip().lower()


def own_message_id_domains() -> list[str]:
    """Every host part our Message-IDs have carried: the current one plus ``JEMH_MESSAGE_ID_PREVIOUS_DOMAINS``.

    Pass it to ``inbound.mime.ClassifierConfig(own_message_id_domains=...)``.
    """
    previous = getattr(settings, "JEMH_MESSAGE_ID_PREVIOUS_DOMAINS", []) or []
    domains = [message_id_domain(), *(d.strip().lower() for d in previous if d.strip())]
    return list(dict.fromkeys(domains))


def thread_root_id(instance_id: int, issue_key: str) -> str:
    """The stable per-issue root ``<jemh.{instance}.{KEY}@{host}>`` listed first in every References."""
    return f"<jemh.{int(instance_id)}.{issue_key.upper()}@{message_id_domain()}>"


def new_message_id(instance_id: int, issue_key: str) -> str:
    """A fresh Message-ID for one notification of the issue."""
    return f"<jemh.{int(instance_id)}.{issue_key.upper()}.{secrets.token_hex(8)}@{message_id_domain()}>"


def parse_our_message_id(message_id: str) -> tuple[int, str] | None:
    """``(instance_id, ISSUE-KEY)`` when ``message_id`` is one of ours (root or per-mail), else None.

    Accepts the id with or without angle brackets; the host must be one of :func:`own_message_id_domains`.
    """
    value = (message_id or "").strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    local, at, host = value.rpartition("@")
    if not at or host.lower() not in own_message_id_domains():
        return None
    match = _OUR_ID.match(local)
    if not match:
        return None
    return int(match["instance"]), match["key"].upper()


# -- reply tokens ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyToken:
    """What a verified reply address says: which instance and issue, and a short hash of who it was sent to."""

    instance_id: int
    issue_key: str
    recipient_hash: str  # 8 hex digits; compare with recipient_fingerprint(address)

    def sent_to(self, address: str) -> bool:
        """True when the notification carrying this token was sent to ``address`` (e.g. the reply's sender)."""
        return hmac.compare_digest(self.recipient_hash, recipient_fingerprint(address))


def recipient_fingerprint(address: str) -> str:
    """8 hex digits of a keyed hash of the (lower-cased) address: enough to notice a forwarded reply."""
    return _mac("recipient", address.strip().lower()).hex()[:8]


def reply_token_for(instance_id: int, issue_key: str, recipient: str) -> str:
    """The signed token ``t-{instance}.{key}.{rh}.{mac}`` (lower case) for one recipient of one issue."""
    key = issue_key.lower()
    rh = recipient_fingerprint(recipient)
    mac = base64.b32encode(_mac("reply", f"{int(instance_id)}|{key}|{rh}")[:10]).decode("ascii").lower()
    return f"t-{int(instance_id)}.{key}.{rh}.{mac}"


def reply_address_for(reply_address: str, instance_id: int, issue_key: str, recipient: str) -> str:
    """``support@example.com`` → ``support+t-{token}@example.com`` (an existing ``+tag`` is replaced)."""
    local, at, domain = reply_address.strip().rpartition("@")
    if not at or not local:
        raise ValueError(f"{reply_address!r} is not an email address")
    base = local.split("+", 1)[0]
    return f"{base}+{reply_token_for(instance_id, issue_key, recipient)}@{domain}"


def parse_reply_address(address: str) -> ReplyToken | None:
    """The verified token of a reply address (``support+t-…@…`` or ``Name <support+t-…@…>``), else None.

    A tampered, truncated or foreign token gives None (the HMAC is compared in constant time).
    """
    _, addr = parseaddr(address or "")
    local = (addr or address or "").strip().rpartition("@")[0]
    if "+" not in local:
        return None
    token = local.split("+", 1)[1].lower()
    match = _TOKEN.match(token)
    if not match:
        return None
    instance_id, key, rh = int(match["instance"]), match["key"], match["rh"]
    expected = base64.b32encode(_mac("reply", f"{instance_id}|{key}|{rh}")[:10]).decode("ascii").lower()
    if not hmac.compare_digest(expected, match["mac"]):
        return None
    return ReplyToken(instance_id=instance_id, issue_key=key.upper(), recipient_hash=rh)


# -- fingerprint -------------------------------------------------------------------------------------------------


def fingerprint_for(instance_id: int) -> str:
    """The value of our ``X-JEMH-Fingerprint`` header for an instance: ``{instance}:{hmac}``."""
    return f"{int(instance_id)}:{_mac('fingerprint', str(int(instance_id))).hex()[:24]}"


def fingerprint_instance(value: str) -> int | None:
    """The instance a fingerprint value was made for, when it verifies; else None."""
    match = _FINGERPRINT.match((value or "").strip().lower())
    if not match:
        return None
    instance_id = int(match["instance"])
    return instance_id if hmac.compare_digest(fingerprint_for(instance_id), match[0]) else None


def is_our_fingerprint(value: str) -> bool:
    """True when ``value`` (a fingerprint header's content) was made by this installation."""
    return fingerprint_instance(value) is not None
