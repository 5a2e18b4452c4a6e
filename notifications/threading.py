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
  issue key and a short hash of the recipient, signed with Django's ``salted_hmac`` under ``SECRET_KEY`` (truncated
  to 80 bits, base32). Everything is lower case, because mail servers may fold the case of local parts (which is
  why this is not ``django.core.signing``: its base64 signatures are case-sensitive and 43 characters long, and a
  local part holds 64).
  :func:`parse_reply_address` verifies it (constant-time compare) and returns a :class:`ReplyToken` or None.
- **Fingerprint header** ``X-JEMH-Fingerprint: {instance}:{hmac}`` (:func:`fingerprint_for`). Its name is the
  default of ``inbound.mime`` (``ClassifierConfig.fingerprint_header``), so the classifier flags our own mail
  coming back as a loop; :func:`is_our_fingerprint` checks a value really came from this installation.

Signatures are checked against ``SECRET_KEY`` and every key in ``SECRET_KEY_FALLBACKS``
(:func:`jemh.crypto.token_secrets`), so rotating ``SECRET_KEY`` with the old key kept as a fallback leaves the
tokens and fingerprints of mail already sent valid. Mail sent before these signatures used ``salted_hmac`` carries
the older derivation (``HMAC(sha256(f"jemh-notifications:{purpose}:{SECRET_KEY}"))``), which is ``salted_hmac``
with the salt ``f"jemh-notifications:{purpose}:"``; it is accepted too (:data:`_LEGACY_SALT`), so replies to it
keep their token.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings

from jemh.crypto import token_mac, token_secrets

FINGERPRINT_HEADER = "X-JEMH-Fingerprint"  # == inbound.mime.model.DEFAULT_FINGERPRINT_HEADER
DEFAULT_DOMAIN = "jemh.invalid"
_ISSUE_KEY = r"[A-Za-z][A-Za-z0-9_]*-[0-9]+"
_OUR_ID = re.compile(rf"^jemh\.(?P<instance>[0-9]+)\.(?P<key>{_ISSUE_KEY})(?:\.(?P<random>[A-Za-z0-9_-]+))?$")
_TOKEN = re.compile(rf"^t-(?P<instance>[0-9]+)\.(?P<key>{_ISSUE_KEY})\.(?P<rh>[0-9a-f]{{8}})\.(?P<mac>[a-z2-7]{{16}})$")
_FINGERPRINT = re.compile(r"^(?P<instance>[0-9]+):(?P<mac>[0-9a-f]{24})$")


_SALT = "jemh.notifications.threading:{purpose}"
_LEGACY_SALT = "jemh-notifications:{purpose}:"  # the derivation of mail sent before salted_hmac signatures


@dataclass(frozen=True)
class _Signer:
    """One way a token of ours may have been signed: a salt pattern and a secret."""

    salt: str
    secret: str = field(repr=False)

    def mac(self, purpose: str, message: str) -> bytes:
        return token_mac(self.salt.format(purpose=purpose), message, secret=self.secret)


def _signer() -> _Signer:
    """How new tokens are signed: under the current ``SECRET_KEY``."""
    return _Signer(_SALT, token_secrets()[0])


def _verifiers() -> list[_Signer]:
    """Every signer whose tokens verify, current first: each secret of :func:`token_secrets`, new then legacy salt."""
    return [_Signer(salt, secret) for salt in (_SALT, _LEGACY_SALT) for secret in token_secrets()]


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
    signer: _Signer | None = field(default=None, repr=False, compare=False)  # the one that verified the token

    def sent_to(self, address: str) -> bool:
        """True when the notification carrying this token was sent to ``address`` (e.g. the reply's sender).

        The recipient hash is recomputed with the key that signed the token, so this holds after a rotation too.
        """
        return hmac.compare_digest(self.recipient_hash, recipient_fingerprint(address, self.signer))


def recipient_fingerprint(address: str, signer: _Signer | None = None) -> str:
    """8 hex digits of a keyed hash of the (lower-cased) address: enough to notice a forwarded reply."""
    return (signer or _signer()).mac("recipient", address.strip().lower()).hex()[:8]


def _reply_mac(signer: _Signer, instance_id: int, key: str, rh: str) -> str:
    return base64.b32encode(signer.mac("reply", f"{int(instance_id)}|{key}|{rh}")[:10]).decode("ascii").lower()


def reply_token_for(instance_id: int, issue_key: str, recipient: str) -> str:
    """The signed token ``t-{instance}.{key}.{rh}.{mac}`` (lower case) for one recipient of one issue."""
    key = issue_key.lower()
    signer = _signer()
    rh = recipient_fingerprint(recipient, signer)
    return f"t-{int(instance_id)}.{key}.{rh}.{_reply_mac(signer, instance_id, key, rh)}"


def reply_address_for(reply_address: str, instance_id: int, issue_key: str, recipient: str) -> str:
    """``support@example.com`` → ``support+t-{token}@example.com`` (an existing ``+tag`` is replaced)."""
    local, at, domain = reply_address.strip().rpartition("@")
    if not at or not local:
        raise ValueError(f"{reply_address!r} is not an email address")
    base = local.split("+", 1)[0]
    return f"{base}+{reply_token_for(instance_id, issue_key, recipient)}@{domain}"


def parse_reply_address(address: str) -> ReplyToken | None:
    """The verified token of a reply address (``support+t-…@…`` or ``Name <support+t-…@…>``), else None.

    A tampered, truncated or foreign token gives None (the HMAC is compared in constant time). A token signed under
    a key of ``SECRET_KEY_FALLBACKS`` (or by the legacy derivation) verifies.
    """
    if "+" not in (address or ""):
        return None  # no tag anywhere (most addresses): nothing to parse
    _, addr = parseaddr(address)
    local = (addr or address).strip().rpartition("@")[0]
    if "+" not in local:
        return None
    token = local.split("+", 1)[1].lower()
    match = _TOKEN.match(token)
    if not match:
        return None
    instance_id, key, rh = int(match["instance"]), match["key"], match["rh"]
    for signer in _verifiers():
        if hmac.compare_digest(_reply_mac(signer, instance_id, key, rh), match["mac"]):
            return ReplyToken(instance_id=instance_id, issue_key=key.upper(), recipient_hash=rh, signer=signer)
    return None


# -- fingerprint -------------------------------------------------------------------------------------------------


def fingerprint_for(instance_id: int, signer: _Signer | None = None) -> str:
    """The value of our ``X-JEMH-Fingerprint`` header for an instance: ``{instance}:{hmac}``."""
    mac = (signer or _signer()).mac("fingerprint", str(int(instance_id))).hex()[:24]
    return f"{int(instance_id)}:{mac}"


def fingerprint_instance(value: str) -> int | None:
    """The instance a fingerprint value was made for, when it verifies; else None."""
    match = _FINGERPRINT.match((value or "").strip().lower())
    if not match:
        return None
    instance_id = int(match["instance"])
    if any(hmac.compare_digest(fingerprint_for(instance_id, signer), match[0]) for signer in _verifiers()):
        return instance_id
    return None


def is_our_fingerprint(value: str) -> bool:
    """True when ``value`` (a fingerprint header's content) was made by this installation."""
    return fingerprint_instance(value) is not None
