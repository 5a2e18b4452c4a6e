"""Encryption at rest, built on ``cryptography``.

Short values (model fields) use MultiFernet: the first key of JEMH_ENCRYPTION_KEYS encrypts, every key
decrypts, so keys can be rotated. Blobs (raw mail, attachments) use a streaming format so a large
message never has to sit in memory twice: AES-256-GCM in 64 KiB chunks, each chunk's nonce and
associated data bound to its position and to whether it is the last one (so truncation, reordering or
splicing is detected). The blob key is derived from a Fernet key with HKDF, and the blob header names
which key (by a short key id), so rotation works for blobs too.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
from collections.abc import Iterator
from functools import lru_cache
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.crypto import salted_hmac

BLOB_MAGIC = b"JEMHBLOB1"
CHUNK_SIZE = 64 * 1024
_HEADER = struct.Struct(">9s8s8s")  # magic, key id, nonce prefix
_LENGTH = struct.Struct(">I")


class DecryptionError(Exception):
    """Data could not be decrypted with any configured key, or was tampered with."""


def _configured_keys() -> tuple[str, ...]:
    return tuple(settings.JEMH_ENCRYPTION_KEYS)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


@lru_cache(maxsize=32)
def _blob_key(key: str) -> tuple[bytes, bytes]:
    raw = Fernet(key.encode())._signing_key + Fernet(key.encode())._encryption_key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jemh-blob-v1").derive(raw)
    key_id = hmac.new(raw, b"jemh-key-id", hashlib.sha256).digest()[:8]
    return key_id, derived


def encrypt_text(value: str) -> str:
    return _fernet(_configured_keys()).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _fernet(_configured_keys()).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError) as exc:
        raise DecryptionError(
            "cannot decrypt a stored value: is the key that wrote it still in JEMH_ENCRYPTION_KEYS?"
        ) from exc


def rotate_text(token: str) -> str:
    """Re-encrypt a token under the first (current) key."""
    return _fernet(_configured_keys()).rotate(token.encode("ascii")).decode("ascii")


INDEX_SALT = "jemh.keyed_hash:"


def salted_hash(salt: str, value: str | bytes, secret: str) -> str:
    """HMAC-SHA256 (64 hex digits) of ``value`` by Django's ``salted_hmac``: the one primitive of every keyed hash
    of the project (look-up hashes, their legacy form, log hashes, derived keys)."""
    return salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()


def _normalized(value: str) -> str:
    return value.strip().lower()


def keyed_hash(value: str, purpose: str = "lookup") -> str:
    """A stable keyed hash (blind index) for finding encrypted values without decrypting them.

    HMAC-SHA256 of the stripped, lower-cased value by Django's ``salted_hmac``, keyed with ``JEMH_INDEX_KEY`` (a
    long-lived key of its own, never ``SECRET_KEY``, so rotating ``SECRET_KEY`` changes no stored hash) and salted
    with the purpose, so the same value hashes differently per purpose. 64 hex digits. This is what is *stored*;
    look-ups use :func:`keyed_hash_candidates`.
    """
    return salted_hash(INDEX_SALT + purpose, _normalized(value), settings.JEMH_INDEX_KEY)


def legacy_keyed_hashes(value: str, purpose: str = "lookup") -> list[str]:
    """The hashes rows written before ``JEMH_INDEX_KEY`` carry: keyed by ``SECRET_KEY`` (or one of its fallbacks).

    The old derivation was ``HMAC(sha256(f"{purpose}:{SECRET_KEY}"), value)``, which is exactly ``salted_hmac``
    with the salt ``f"{purpose}:"`` and ``SECRET_KEY`` as the secret, so Django's function computes it too.
    """
    normalized = _normalized(value)
    return [salted_hash(f"{purpose}:", normalized, secret) for secret in token_secrets()]


def keyed_hash_candidates(value: str, purpose: str = "lookup") -> list[str]:
    """Every hash a stored row for ``value`` may carry: :func:`keyed_hash` first, then the legacy ones.

    Look-ups filter with ``field__in=keyed_hash_candidates(...)``. Why a look-up fallback rather than a data
    migration: a keyed hash is one-way, and not every hashed value is kept beside it (a content hash is of the raw
    mail, which retention may already have purged), so a migration could not rewrite every row; a fallback finds
    them all, costs a few more values in an indexed ``IN``, and needs no migration over large tables. Rows written
    before ``JEMH_INDEX_KEY`` existed stay findable as long as the ``SECRET_KEY`` they were made with is
    ``SECRET_KEY`` or in ``SECRET_KEY_FALLBACKS`` (keep the old key there after a rotation); every row written
    since is keyed by ``JEMH_INDEX_KEY`` and does not depend on ``SECRET_KEY`` at all.
    """
    return list(dict.fromkeys([keyed_hash(value, purpose), *legacy_keyed_hashes(value, purpose)]))


def derived_key(secret: str, purpose: str) -> str:
    """A key for one purpose derived from a long-lived secret (e.g. the log hash key from ``JEMH_INDEX_KEY``)."""
    return salted_hash("jemh.derived_key:" + purpose, purpose, secret)


def token_mac(salt: str, message: str | bytes, secret: str | None = None) -> bytes:
    """The signature of a token (reply token, fingerprint): ``salted_hmac`` under ``SECRET_KEY`` (or ``secret``)."""
    key = settings.SECRET_KEY if secret is None else secret
    return salted_hmac(salt, message, secret=key, algorithm="sha256").digest()


def token_secrets() -> list[str]:
    """The secrets a token may have been signed with, current first: ``SECRET_KEY``, then ``SECRET_KEY_FALLBACKS``.

    Verification tries each (as Django's own signing and password-reset tokens do), so rotating ``SECRET_KEY`` with
    the old one kept in ``SECRET_KEY_FALLBACKS`` keeps the tokens in mail already sent valid.
    """
    return list(dict.fromkeys([settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]))


def _nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + struct.pack(">I", counter)


def _aad(header: bytes, counter: int, last: bool) -> bytes:
    return header + struct.pack(">I?", counter, last)


def encrypt_stream(source: IO[bytes], keys: tuple[str, ...] | None = None) -> Iterator[bytes]:
    """Yield the encrypted form of everything read from ``source``."""
    key_id, key = _blob_key((keys or _configured_keys())[0])
    aes = AESGCM(key)
    header = _HEADER.pack(BLOB_MAGIC, key_id, os.urandom(8))
    prefix = header[-8:]
    yield header
    counter = 0
    chunk = source.read(CHUNK_SIZE)
    while True:
        following = source.read(CHUNK_SIZE) if chunk else b""
        last = not following
        sealed = aes.encrypt(_nonce(prefix, counter), chunk, _aad(header, counter, last))
        yield _LENGTH.pack(len(sealed)) + sealed
        if last:
            return
        counter += 1
        chunk = following


def decrypt_stream(source: IO[bytes], keys: tuple[str, ...] | None = None) -> Iterator[bytes]:
    """Yield the plaintext of a blob written by :func:`encrypt_stream`; raise DecryptionError if damaged."""
    header = _read_exactly(source, _HEADER.size)
    if len(header) != _HEADER.size or not header.startswith(BLOB_MAGIC):
        raise DecryptionError("not an encrypted blob (bad header)")
    _, key_id, prefix = _HEADER.unpack(header)
    candidates = dict(_blob_key(k) for k in (keys or _configured_keys()))
    if key_id not in candidates:
        raise DecryptionError("the blob was encrypted with a key that is not in JEMH_ENCRYPTION_KEYS")
    aes = AESGCM(candidates[key_id])
    counter = 0
    length_bytes = _read_exactly(source, _LENGTH.size)
    while True:
        if len(length_bytes) != _LENGTH.size:
            raise DecryptionError("the blob is truncated")
        (length,) = _LENGTH.unpack(length_bytes)
        if length > CHUNK_SIZE + 16:
            raise DecryptionError("the blob is damaged (chunk too long)")
        sealed = _read_exactly(source, length)
        if len(sealed) != length:
            raise DecryptionError("the blob is truncated")
        length_bytes = _read_exactly(source, _LENGTH.size)
        last = not length_bytes
        try:
            yield aes.decrypt(_nonce(prefix, counter), sealed, _aad(header, counter, last))
        except InvalidTag as exc:
            raise DecryptionError("the blob is damaged or was tampered with") from exc
        if last:
            return
        counter += 1


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    """Read ``size`` bytes, looping over short reads; fewer only at end of stream."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = source.read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def encrypt_bytes(data: bytes) -> bytes:
    return b"".join(encrypt_stream(io.BytesIO(data)))


def decrypt_bytes(data: bytes) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(data)))
