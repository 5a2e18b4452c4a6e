"""Key rotation made complete (issue 15, "Keys"): ``jemh rekey`` re-encrypts every encrypted field and blob under
the first key, so the old key can be removed and everything still reads; blobs get a key of their own (HKDF with a
random salt in the header), and blobs of the first format stay readable."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command

from inbound.capture import record_without_source
from inbound.models import InboundMessage, Source, SourceKind
from jemh import crypto
from jemh.models import Instance
from jemh.storage import EncryptedStorage, blob_storage

RAW = b"From: marker.person@example.org\r\nSubject: rekey me\r\nMessage-ID: <rekey@example.org>\r\n\r\nbody\r\n"


def v1_blob(key: str, data: bytes) -> bytes:
    """A blob in the first format (JEMHBLOB1: one derived key per Fernet key, a random 64-bit nonce prefix)."""
    header = struct.pack(">9s8s8s", b"JEMHBLOB1", crypto.key_id(key), os.urandom(8))
    sealed = AESGCM(crypto._blob_key_v1(key)).encrypt(header[-8:] + struct.pack(">I", 0), data, header + b"\0\0\0\0\1")
    return header + struct.pack(">I", len(sealed)) + sealed


def test_each_blob_has_its_own_key_and_old_blobs_still_read(settings: object) -> None:
    key = Fernet.generate_key().decode()
    settings.JEMH_ENCRYPTION_KEYS = [key]  # type: ignore[attr-defined]
    first, second = crypto.encrypt_bytes(b"same"), crypto.encrypt_bytes(b"same")
    assert first.startswith(crypto.BLOB_MAGIC) and first[17:33] != second[17:33]  # a random salt each
    assert crypto.decrypt_bytes(first) == crypto.decrypt_bytes(second) == b"same"
    old = v1_blob(key, b"written before the salted format")
    assert crypto.decrypt_bytes(old) == b"written before the salted format"
    assert not crypto.blob_is_current(old) and crypto.blob_is_current(first)


def test_no_private_fernet_attribute_is_read() -> None:
    source = Path(crypto.__file__).read_text()
    assert "._signing_key" not in source and "._encryption_key" not in source


@pytest.mark.django_db(transaction=True)
def test_rotate_rekey_drop_the_old_key_and_everything_still_reads(settings: object) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.JEMH_ENCRYPTION_KEYS = [old]  # type: ignore[attr-defined]
    instance = Instance.objects.create(name="Rekey", jira_api_token="jira-secret-token")
    source = Source.objects.create(instance=instance, name="imap", kind=SourceKind.IMAP, password="mailbox-pw")
    message = record_without_source(instance.pk, RAW)
    storage = blob_storage()
    legacy = storage.inner.save("inbound/legacy/old.eml", io.BytesIO(v1_blob(old, b"an old raw mail")))

    settings.JEMH_ENCRYPTION_KEYS = [new, old]  # type: ignore[attr-defined]  # rotate: new encrypts, old reads
    out, err = io.StringIO(), io.StringIO()
    call_command("jemh", "rekey", stdout=out, stderr=err)
    assert "re-encrypted" in out.getvalue() and "jemh_instance.jira_api_token: 1 of 1" in err.getvalue()

    settings.JEMH_ENCRYPTION_KEYS = [new]  # type: ignore[attr-defined]  # the old key is gone
    assert Instance.objects.get(pk=instance.pk).jira_api_token == "jira-secret-token"
    assert Source.objects.get(pk=source.pk).password == "mailbox-pw"
    again = InboundMessage.objects.get(pk=message.pk)
    assert again.subject == "rekey me" and storage.read_bytes(again.raw_blob) == RAW
    assert storage.read_bytes(legacy) == b"an old raw mail" and storage.is_current(legacy)

    out = io.StringIO()
    call_command("jemh", "rekey", stdout=out, stderr=io.StringIO())  # resumable: nothing left to do
    assert out.getvalue().startswith("re-encrypted 0 field values and 0 of ")


def test_a_blob_on_s3_is_replaced_whole(settings: object, swift: object) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.JEMH_ENCRYPTION_KEYS = [old]  # type: ignore[attr-defined]
    client = swift.client()  # type: ignore[attr-defined]
    client.create_bucket(Bucket="jemh-rekey-test")
    storage = EncryptedStorage(
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "jemh-rekey-test",
                "endpoint_url": swift.endpoint_url,  # type: ignore[attr-defined]
                "access_key": swift.access_key,  # type: ignore[attr-defined]
                "secret_key": swift.secret_key,  # type: ignore[attr-defined]
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "file_overwrite": False,
            },
        }
    )
    name = storage.save_bytes("raw/rekey.eml", b"confidential " * 10000)
    settings.JEMH_ENCRYPTION_KEYS = [new, old]  # type: ignore[attr-defined]
    assert not storage.is_current(name)
    storage.reencrypt(name)
    settings.JEMH_ENCRYPTION_KEYS = [new]  # type: ignore[attr-defined]
    assert storage.read_bytes(name) == b"confidential " * 10000 and storage.is_current(name)
    assert list(storage.walk("raw")) == [name]
    storage.delete(name)
