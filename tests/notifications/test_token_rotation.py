"""Reply tokens and fingerprints are signed with salted_hmac under SECRET_KEY and verified under
SECRET_KEY_FALLBACKS too, so rotating SECRET_KEY keeps the tokens of mail already sent valid."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from django.test import override_settings

from notifications import threading

OLD_SECRET = "old-secret-" * 6
NEW_SECRET = "new-secret-" * 6
ROTATED = {"SECRET_KEY": NEW_SECRET, "SECRET_KEY_FALLBACKS": [OLD_SECRET]}


@pytest.fixture(autouse=True)
def old_secret(settings: Any) -> None:
    settings.SECRET_KEY = OLD_SECRET
    settings.SECRET_KEY_FALLBACKS = []


def legacy_mac(purpose: str, message: str, secret: str) -> bytes:
    """How tokens were signed before salted_hmac (notifications/threading.py until issue 10)."""
    key = hashlib.sha256(f"jemh-notifications:{purpose}:{secret}".encode()).digest()
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def legacy_reply_address(instance_id: int, issue_key: str, recipient: str, secret: str) -> str:
    key = issue_key.lower()
    rh = legacy_mac("recipient", recipient.strip().lower(), secret).hex()[:8]
    mac = base64.b32encode(legacy_mac("reply", f"{instance_id}|{key}|{rh}", secret)[:10]).decode("ascii").lower()
    return f"support+t-{instance_id}.{key}.{rh}.{mac}@example.com"


def test_a_token_made_before_a_rotation_verifies_after_it() -> None:
    address = threading.reply_address_for("support@example.com", 7, "ABC-123", "carol@example.net")
    with override_settings(**ROTATED):
        token = threading.parse_reply_address(address)
        assert token is not None and (token.instance_id, token.issue_key) == (7, "ABC-123")
        assert token.sent_to("carol@example.net") and not token.sent_to("mallory@example.net")
        fresh = threading.reply_address_for("support@example.com", 7, "ABC-123", "carol@example.net")
        assert fresh != address  # new tokens are signed with the new key
        renewed = threading.parse_reply_address(fresh)
        assert renewed is not None and renewed.sent_to("carol@example.net") and renewed.issue_key == "ABC-123"
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert threading.parse_reply_address(address) is None  # once the old key is dropped, so are its tokens
        assert threading.parse_reply_address(fresh) is not None


def test_a_fingerprint_made_before_a_rotation_verifies_after_it() -> None:
    value = threading.fingerprint_for(7)
    with override_settings(**ROTATED):
        assert threading.fingerprint_instance(value) == 7
        assert threading.fingerprint_for(7) != value and threading.is_our_fingerprint(threading.fingerprint_for(7))
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert not threading.is_our_fingerprint(value)


def test_tokens_signed_the_legacy_way_still_verify() -> None:
    """Regression: mail sent before salted_hmac signatures must keep its reply token after the upgrade."""
    address = legacy_reply_address(7, "ABC-123", "Carol@Example.net", OLD_SECRET)
    token = threading.parse_reply_address(address)
    assert token is not None and token.issue_key == "ABC-123" and token.sent_to("carol@example.net")
    with override_settings(**ROTATED):
        assert threading.parse_reply_address(address) == token
    legacy_fingerprint = f"7:{legacy_mac('fingerprint', '7', OLD_SECRET).hex()[:24]}"
    assert threading.fingerprint_instance(legacy_fingerprint) == 7
    tampered = address.replace("abc-123", "abc-124")
    assert threading.parse_reply_address(tampered) is None


def test_the_token_format_is_unchanged() -> None:
    """The token goes into a local part: lower case, at most 64 characters with a base, the same pattern."""
    address = threading.reply_address_for("support@example.com", 12345, "LONGPROJECT-123456", "carol@example.net")
    local = address.split("@")[0]
    assert local == local.lower() and len(local) <= 64
    assert threading._TOKEN.match(local.split("+", 1)[1])
    assert len(threading.fingerprint_for(7).split(":")[1]) == 24
    assert "old-secret" not in repr(threading.parse_reply_address(address))  # the signer's secret is never shown
