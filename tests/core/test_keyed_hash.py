"""Keyed hashes (blind indexes) are keyed by JEMH_INDEX_KEY, not SECRET_KEY; older rows' hashes stay look-up
candidates; the log hash key is derived from the index key."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.test import override_settings

from jemh import logging as jemh_logging
from jemh.crypto import derived_key, keyed_hash, keyed_hash_candidates, legacy_keyed_hashes

OLD_SECRET = "old-secret-" * 6
NEW_SECRET = "new-secret-" * 6


def old_keyed_hash(value: str, purpose: str, secret: str) -> str:
    """The derivation rows were hashed with before JEMH_INDEX_KEY (jemh.crypto.keyed_hash until issue 10)."""
    key = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return hmac.new(key, value.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def test_keyed_hash_does_not_depend_on_secret_key() -> None:
    with override_settings(SECRET_KEY=OLD_SECRET):
        before = keyed_hash("Carol@Example.net", purpose="address")
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        assert keyed_hash("carol@example.net ", purpose="address") == before
    assert len(before) == 64 and int(before, 16) >= 0


def test_keyed_hash_is_keyed_by_the_index_key_and_the_purpose() -> None:
    value = keyed_hash("carol@example.net", purpose="address")
    assert keyed_hash("carol@example.net", purpose="email") != value
    with override_settings(JEMH_INDEX_KEY="another-index-key-" * 4):
        assert keyed_hash("carol@example.net", purpose="address") != value
    assert value != old_keyed_hash("carol@example.net", "address", settings.SECRET_KEY)


def test_candidates_are_the_hash_first_then_the_old_derivation_under_every_secret_key() -> None:
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        candidates = keyed_hash_candidates(" Carol@Example.net", purpose="address")
        assert candidates == [
            keyed_hash("carol@example.net", purpose="address"),
            old_keyed_hash("carol@example.net", "address", NEW_SECRET),
            old_keyed_hash("carol@example.net", "address", OLD_SECRET),
        ]
        assert legacy_keyed_hashes("carol@example.net", purpose="address") == candidates[1:]
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert keyed_hash_candidates("carol@example.net") == [
            keyed_hash("carol@example.net"),
            old_keyed_hash("carol@example.net", "lookup", OLD_SECRET),
        ]


def test_log_hash_key_defaults_to_one_derived_from_the_index_key() -> None:
    assert derived_key(settings.JEMH_INDEX_KEY, "log-hash") == settings.JEMH_LOG_HASH_KEY
    assert settings.JEMH_LOG_HASH_KEY not in (settings.SECRET_KEY, settings.JEMH_INDEX_KEY)
    assert derived_key(settings.JEMH_INDEX_KEY, "other") != settings.JEMH_LOG_HASH_KEY


def test_log_hashes_keep_their_algorithm_for_a_given_log_hash_key() -> None:
    """A JEMH_LOG_HASH_KEY set explicitly gives the same log hashes as before salted_hmac."""
    jemh_logging._key.cache_clear()
    try:
        with override_settings(JEMH_LOG_HASH_KEY="explicit-log-key"):
            jemh_logging._key.cache_clear()
            key = hashlib.sha256(b"log-hash:explicit-log-key").digest()
            expected = hmac.new(key, b"carol@example.net", hashlib.sha256).hexdigest()[:12]
            assert jemh_logging.pii_hash(" Carol@Example.net", "email") == f"[email:{expected}]"
    finally:
        jemh_logging._key.cache_clear()


def test_salted_hash_is_djangos_salted_hmac() -> None:
    """The derived key is cached; the hash stays exactly Django's salted_hmac (every stored hash depends on it)."""
    from django.utils.crypto import salted_hmac

    from jemh.crypto import salted_hash

    cases: list[tuple[str, str | bytes, str]] = [
        ("jemh.index.lookup", "a@b.example", "k" * 50),
        ("p:", b"\xffbytes", "s"),
        ("", "", "x"),
    ]
    for salt, value, secret in cases:
        expected = salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()
        assert salted_hash(salt, value, secret) == expected
        assert salted_hash(salt, value, secret) == expected  # from the cached key
