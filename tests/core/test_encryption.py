"""Secrets and personal data are unreadable at rest and readable through the application."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import SuspiciousFileOperation
from django.db import connection, models

from jemh import crypto
from jemh.storage import EncryptedStorage

PLAIN = "alice.customer@example.org"


@pytest.fixture()
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.JEMH_ENCRYPTION_KEYS = [first]
    return first, second


def test_text_round_trip_and_rotation(keys, settings) -> None:
    old, new = keys
    token = crypto.encrypt_text(PLAIN)
    assert PLAIN not in token and crypto.decrypt_text(token) == PLAIN
    settings.JEMH_ENCRYPTION_KEYS = [new, old]  # rotate: the new key encrypts, the old still decrypts
    assert crypto.decrypt_text(token) == PLAIN
    rotated = crypto.rotate_text(token)
    settings.JEMH_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt_text(rotated) == PLAIN
    with pytest.raises(crypto.DecryptionError, match="JEMH_ENCRYPTION_KEYS"):
        crypto.decrypt_text(token)


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK_SIZE - 1, crypto.CHUNK_SIZE, 3 * crypto.CHUNK_SIZE + 5])
def test_blob_round_trip_sizes(keys, size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    sealed = crypto.encrypt_bytes(data)
    assert crypto.decrypt_bytes(sealed) == data
    if size > 16:
        assert data[:16] not in sealed


def test_blob_tampering_truncation_and_unknown_key_are_detected(keys, settings) -> None:
    data = b"x" * (2 * crypto.CHUNK_SIZE + 10)
    sealed = crypto.encrypt_bytes(data)
    flipped = bytearray(sealed)
    flipped[100] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(flipped))
    last_chunk_length = 10 + 16 + 4
    with pytest.raises(crypto.DecryptionError):  # a whole trailing chunk removed
        crypto.decrypt_bytes(sealed[:-last_chunk_length])
    settings.JEMH_ENCRYPTION_KEYS = [keys[1]]
    with pytest.raises(crypto.DecryptionError, match="not in JEMH_ENCRYPTION_KEYS"):
        crypto.decrypt_bytes(sealed)
    settings.JEMH_ENCRYPTION_KEYS = [keys[1], keys[0]]
    assert crypto.decrypt_bytes(sealed) == data


@pytest.fixture()
def secret_holder_table(transactional_db):
    from tests.core.models_for_tests import SecretHolder

    with connection.schema_editor() as editor:
        editor.create_model(SecretHolder)
    yield SecretHolder
    with connection.schema_editor() as editor:
        editor.delete_model(SecretHolder)


def test_encrypted_field_unreadable_in_database(keys, secret_holder_table) -> None:
    SecretHolder = secret_holder_table
    holder = SecretHolder.objects.create(address=PLAIN, details={"subject": "Printer on fire"})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT address, details FROM {SecretHolder._meta.db_table} WHERE id = %s", [holder.pk])
        stored_address, stored_details = cursor.fetchone()
    assert PLAIN not in stored_address and "Printer" not in stored_details
    loaded = SecretHolder.objects.get(pk=holder.pk)
    assert loaded.address == PLAIN and loaded.details == {"subject": "Printer on fire"}
    with pytest.raises(TypeError, match="encrypted"):
        SecretHolder.objects.filter(address=PLAIN).count()
    assert isinstance(SecretHolder._meta.get_field("address"), models.TextField)


def test_encrypted_blob_on_filesystem(keys, tmp_path) -> None:
    storage = EncryptedStorage(
        {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}
    )
    raw = b"From: " + PLAIN.encode() + b"\r\nSubject: secret plans\r\n\r\nbody\r\n" * 1000
    name = storage.save_bytes("raw/2026/msg.eml", raw)
    on_disk = (tmp_path / name).read_bytes()
    assert PLAIN.encode() not in on_disk and b"secret plans" not in on_disk
    assert on_disk.startswith(crypto.BLOB_MAGIC)
    assert storage.read_bytes(name) == raw
    with pytest.raises(NotImplementedError):
        storage.url(name)


def test_filesystem_blob_written_directly_keeps_filesystem_storage_rules(keys, tmp_path) -> None:
    """save_bytes writes a file-system blob itself; it must still behave as FileSystemStorage.save would."""
    storage = EncryptedStorage(
        {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "file_permissions_mode": 0o640},
        }
    )
    first = storage.save_bytes("inbound/1/2026/12/06/a.eml", b"first")
    assert first == "inbound/1/2026/12/06/a.eml"
    assert (tmp_path / first).stat().st_mode & 0o777 == 0o640
    second = storage.save_bytes(first, b"second")  # taken: another name, the first blob untouched
    assert second != first and second.startswith("inbound/1/2026/12/06/a_") and second.endswith(".eml")
    assert storage.read_bytes(first) == b"first" and storage.read_bytes(second) == b"second"
    for hostile in ("../outside.eml", "inbound/../../outside.eml", "/etc/outside.eml"):
        with pytest.raises(SuspiciousFileOperation):
            storage.save_bytes(hostile, b"x")
    assert not (tmp_path.parent / "outside.eml").exists()


def test_large_blobs_are_never_held_twice(keys, tmp_path) -> None:
    """save_bytes streams the sealed pieces to the file; read_bytes holds the plaintext once (not as pieces too)."""
    storage = EncryptedStorage(
        {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}
    )
    size = 8 * 1024 * 1024
    raw = os.urandom(size)
    tracemalloc.start()
    try:
        name = storage.save_bytes("inbound/large.eml", raw)
        saving = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        read = storage.read_bytes(name)
        reading = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == raw
    assert saving < size / 4, saving  # a few pieces of 64 KiB, not a sealed copy
    assert reading < size * 1.5, reading  # the plaintext, not its pieces and their join


def test_encrypted_blob_on_s3(keys, swift) -> None:
    client = swift.client()
    client.create_bucket(Bucket="jemh-encryption-test")
    storage = EncryptedStorage(
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "jemh-encryption-test",
                "endpoint_url": swift.endpoint_url,
                "access_key": swift.access_key,
                "secret_key": swift.secret_key,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "file_overwrite": False,
            },
        }
    )
    raw = b"To: " + PLAIN.encode() + b"\r\n\r\n" + b"confidential " * 20000
    name = storage.save_stream("raw/s3-msg.eml", io.BytesIO(raw))
    stored = client.get_object(Bucket="jemh-encryption-test", Key=name)["Body"].read()
    assert PLAIN.encode() not in stored and b"confidential" not in stored
    assert storage.read_bytes(name) == raw
    storage.delete(name)
    assert not storage.exists(name)
