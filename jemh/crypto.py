"""Encryption at rest, built on ``cryptography``.

Short values (model fields) use MultiFernet: the first key of JEMH_ENCRYPTION_KEYS encrypts, every key
decrypts, so keys can be rotated. Blobs (raw mail, attachments) use a streaming format so a large
message never has to sit in memory twice: AES-256-GCM in 64 KiB chunks, each chunk's nonce and
associated data bound to its position and to whether it is the last one (so truncation, reordering or
splicing is detected). Each blob has its own key, derived with HKDF from a Fernet key and a random 128-bit salt
kept in the blob's header (``JEMHBLOB2``), so no nonce is ever reused however many blobs one key encrypts; the
header names which Fernet key (by a short key id), so rotation works for blobs too. Blobs of the first format
(``JEMHBLOB1``: one derived key per Fernet key, a random 64-bit nonce prefix per blob) stay readable.
"""

from __future__ import annotations

import base64
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

BLOB_MAGIC_V1 = b"JEMHBLOB1"
BLOB_MAGIC = b"JEMHBLOB2"
CHUNK_SIZE = 64 * 1024
_HEADER_V1 = struct.Struct(">9s8s8s")  # magic, key id, nonce prefix
_HEADER = struct.Struct(">9s8s16s8s")  # magic, key id, HKDF salt of this blob's key, nonce prefix
_LENGTH = struct.Struct(">I")


class DecryptionError(Exception):
    """Data could not be decrypted with any configured key, or was tampered with."""


def _configured_keys() -> tuple[str, ...]:
    return tuple(settings.JEMH_ENCRYPTION_KEYS)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _key_material(key: str) -> bytes:
    """The 32 bytes a Fernet key stands for (its signing then its encryption key), decoded from the key's text
    as the Fernet specification defines it (never from Fernet's private attributes)."""
    raw = base64.urlsafe_b64decode(key.encode())
    if len(raw) != 32:
        raise ValueError("a Fernet key is 32 bytes, url-safe base64-encoded")
    return raw


@lru_cache(maxsize=32)
def key_id(key: str) -> bytes:
    """A short, non-secret name of a Fernet key, written in each blob's header."""
    return hmac.new(_key_material(key), b"jemh-key-id", hashlib.sha256).digest()[:8]


@lru_cache(maxsize=32)
def _blob_key_v1(key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jemh-blob-v1").derive(_key_material(key))


def _blob_key(key: str, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"jemh-blob-v2").derive(_key_material(key))


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
    message = value.encode() if isinstance(value, str) else value
    return hmac.new(_salted_key(salt, secret), message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=256)
def _salted_key(salt: str, secret: str) -> bytes:
    """``salted_hmac``'s key, sha256(salt + secret), derived once per salt and secret rather than per hash (every
    message is hashed several times: Message-ID, sender, content)."""
    return hashlib.sha256((salt + secret).encode()).digest()


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
    current = (keys or _configured_keys())[0]
    salt = os.urandom(16)
    aes = AESGCM(_blob_key(current, salt))
    header = _HEADER.pack(BLOB_MAGIC, key_id(current), salt, os.urandom(8))
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
    header = _read_exactly(source, _HEADER_V1.size)
    if len(header) != _HEADER_V1.size or not header.startswith((BLOB_MAGIC, BLOB_MAGIC_V1)):
        raise DecryptionError("not an encrypted blob (bad header)")
    candidates = {key_id(k): k for k in (keys or _configured_keys())}
    if header.startswith(BLOB_MAGIC_V1):
        _, named, prefix = _HEADER_V1.unpack(header)
        if named not in candidates:
            raise DecryptionError("the blob was encrypted with a key that is not in JEMH_ENCRYPTION_KEYS")
        aes = AESGCM(_blob_key_v1(candidates[named]))
    else:
        header += _read_exactly(source, _HEADER.size - _HEADER_V1.size)
        if len(header) != _HEADER.size:
            raise DecryptionError("not an encrypted blob (bad header)")
        _, named, salt, prefix = _HEADER.unpack(header)
        if named not in candidates:
            raise DecryptionError("the blob was encrypted with a key that is not in JEMH_ENCRYPTION_KEYS")
        aes = AESGCM(_blob_key(candidates[named], salt))
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


def blob_key_id(header: bytes) -> bytes | None:
    """The key id a blob's first bytes name (None: not a blob of ours); reading ``_HEADER_V1.size`` bytes is enough."""
    if header.startswith((BLOB_MAGIC, BLOB_MAGIC_V1)) and len(header) >= _HEADER_V1.size:
        return header[len(BLOB_MAGIC) : len(BLOB_MAGIC) + 8]
    return None


def blob_is_current(header: bytes) -> bool:
    """Whether a blob (by its first bytes) is in the current format under the first key (nothing to re-encrypt)."""
    return header.startswith(BLOB_MAGIC) and blob_key_id(header) == key_id(_configured_keys()[0])


def token_is_current(token: str) -> bool:
    """Whether a field's Fernet token is encrypted under the first key (nothing to re-encrypt)."""
    try:
        Fernet(_configured_keys()[0].encode()).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        return False
    return True


def encrypt_bytes(data: bytes) -> bytes:
    return b"".join(encrypt_stream(io.BytesIO(data)))


def decrypt_bytes(data: bytes) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(data)))
