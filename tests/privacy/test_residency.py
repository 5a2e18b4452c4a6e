"""privacy.md, "What is stored, where": an operator configures several storages (each its own bucket, region and
endpoint) and an instance names the one its raw mail, attachments and outbound content go to. Two buckets on the
real Swift S3 store: each instance's blobs land only in its own bucket, and reading, the purge and ``rekey`` follow
each blob to the storage it is in."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import environ
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from auditing.retention import purge
from inbound import services as inbound_services
from inbound.capture import capture
from inbound.models import InboundMessage, InboundStatus, Source, SourceKind
from jemh import config, crypto
from jemh.models import Instance
from jemh.storage import UnknownStorage, blob_storage
from notifications.outbound import new_outbound
from tests.inbound.conftest import s3_backend

pytestmark = pytest.mark.django_db


@pytest.fixture()
def two_buckets(swift: Any, settings: Any, blob_root: Path) -> Iterator[dict[str, str]]:
    """Storages ``eu`` and ``us``, each a fresh bucket of the Swift store, beside the default (a folder)."""
    buckets = {name: f"jemh-{name}-{uuid.uuid4().hex[:10]}" for name in ("eu", "us")}
    for bucket in buckets.values():
        swift.client().create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "jemh.storage.EncryptedStorage",
            "OPTIONS": {
                "backend": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(blob_root)},
                },
                "residencies": {name: s3_backend(swift, bucket) for name, bucket in buckets.items()},
            },
        },
    }
    yield buckets


def keys_in(swift: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in swift.client().list_objects_v2(Bucket=bucket).get("Contents", []))


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def mail(n: int, attachment: bool = False) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = f"customer{n}@example.org", "support@support.example.com"
    message["Subject"], message["Message-ID"] = f"Residency {n}", f"<residency-{n}-{uuid.uuid4().hex}@example.org>"
    message.set_content(f"Please help ({n}).")
    if attachment:
        message.add_attachment(b"a log file", maintype="text", subtype="plain", filename="log.txt")
    return message.as_bytes()


def test_each_instance_s_blobs_land_only_in_its_own_bucket_and_everything_follows_them(
    two_buckets: dict[str, str],
    swift: Any,
    blob_root: Path,
    instance: Instance,
    deliver: Callable[..., InboundMessage],
    settings: Any,
) -> None:
    instance.blob_storage = "eu"
    instance.save()
    other = Instance.objects.create(name=f"Other {uuid.uuid4().hex[:6]}", blob_storage="us")
    other_source = Source.objects.create(instance=other, name="pipe-us", kind=SourceKind.PIPE)

    processed = deliver(mail(1, attachment=True))  # raw mail and the tracker's attachment
    assert processed.outcome == "created" and processed.raw_blob.startswith("eu:inbound/")
    saved: list[str] = []
    outbound = new_outbound(
        instance,
        raw=b"Subject: a notification\r\n\r\nhello\r\n",
        recipient="someone@example.org",
        recipient_hash="0" * 64,
        subject="a notification",
        message_id="<n1@jemh>",
        saved_blobs=saved,
    )
    outbound.save()
    captured = capture(other_source, mail(2)).message
    assert captured is not None and captured.raw_blob.startswith("us:inbound/")

    eu, us = keys_in(swift, two_buckets["eu"]), keys_in(swift, two_buckets["us"])
    assert {key.split("/")[0] for key in eu} == {"inbound", "outbound", "tracker"}
    assert all(key.split("/")[1] == str(instance.pk) for key in eu)
    assert us == [captured.raw_blob.removeprefix("us:")]
    assert files_under(blob_root) == []  # nothing in the default storage

    # reading follows the blob: the decrypted mail, from its bucket (which holds it encrypted)
    assert inbound_services.raw_mail(captured) is not None
    assert b"Please help (2)." in (inbound_services.raw_mail(captured) or b"")
    sealed = swift.client().get_object(Bucket=two_buckets["us"], Key=us[0])["Body"].read()
    assert sealed.startswith(crypto.BLOB_MAGIC) and b"Please help" not in sealed

    # an instance moved to another storage keeps reading what it stored before; new blobs go to the new one
    other.blob_storage = "eu"
    other.save()
    later = capture(other_source, mail(3)).message
    assert later is not None and later.raw_blob.startswith("eu:inbound/")
    assert inbound_services.raw_mail(captured) is not None

    # rekey follows every blob into its bucket
    old = settings.JEMH_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.JEMH_ENCRYPTION_KEYS = [new, old]
    call_command("jemh", "rekey", stdout=io.StringIO(), stderr=io.StringIO())
    settings.JEMH_ENCRYPTION_KEYS = [new]
    storage = blob_storage()
    every = list(storage.walk())
    assert len(every) == len(eu) + len(us) + 1 and all(storage.is_current(name) for name in every)
    assert {name.split(":")[0] for name in every} == {"eu", "us"}
    assert b"Please help (2)." in (inbound_services.raw_mail(captured) or b"")

    # the purge deletes the blob in the bucket it is in
    InboundMessage.objects.filter(pk=captured.pk).update(
        received_at=timezone.now() - timedelta(days=40), status=InboundStatus.PROCESSED
    )
    purge()
    assert keys_in(swift, two_buckets["us"]) == []
    assert later.raw_blob.removeprefix("eu:") in keys_in(swift, two_buckets["eu"])


def test_an_instance_may_only_name_a_configured_storage(two_buckets: dict[str, str], instance: Instance) -> None:
    instance.blob_storage = "mars"
    with pytest.raises(ValidationError, match="mars"):
        instance.full_clean()
    instance.blob_storage = "us"
    instance.full_clean()
    with pytest.raises(UnknownStorage):
        blob_storage().read_bytes("mars:inbound/1/x.eml")


def test_storages_are_read_from_the_environment(tmp_path: Path) -> None:
    env = environ.Env()
    variables = {
        "JEMH_BLOB_STORAGES": "eu, us",
        "JEMH_STORAGE_EU_S3_BUCKET": "mail-eu",
        "JEMH_STORAGE_EU_S3_REGION": "eu-central-1",
        "JEMH_STORAGE_EU_S3_ENDPOINT_URL": "https://s3.eu-central-1.example.com",
        "JEMH_STORAGE_US_BLOB_PATH": str(tmp_path / "us"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        found = config.blob_storages(env, tmp_path)
        assert found["eu"]["OPTIONS"]["bucket_name"] == "mail-eu"
        assert found["eu"]["OPTIONS"]["region_name"] == "eu-central-1"
        assert found["eu"]["OPTIONS"]["endpoint_url"] == "https://s3.eu-central-1.example.com"
        assert found["us"]["OPTIONS"]["location"] == str(tmp_path / "us")
        patch.setenv("JEMH_BLOB_STORAGES", "eu,asia")
        with pytest.raises(config.ConfigError, match="JEMH_STORAGE_ASIA_S3_BUCKET"):
            config.blob_storages(env, tmp_path)
