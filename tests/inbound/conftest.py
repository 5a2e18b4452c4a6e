"""Fixtures of the inbound tests: a fresh Dovecot mailbox per test, sources pointing at it, blobs kept in a
temporary directory (or in the real Swift S3 store), and a migrated database that subprocesses (the MTA
pipe command, crash-injected pollers) can share with the test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from tests.conftest import TEST_DB

ROOT = Path(__file__).resolve().parents[2]


def make_message(
    subject: str = "Printer on fire",
    sender: str = "alice@example.test",
    to: str = "support@example.test",
    message_id: str | None = "auto",
    body: str = "Please help.",
    extra: dict[str, str] | None = None,
) -> bytes:
    """A small RFC 5322 message with CRLF line ends (as IMAP hands it back)."""
    headers = {"From": f"Alice <{sender}>", "To": to, "Subject": subject, "Date": "Tue, 1 Jul 2025 10:00:00 +0000"}
    if message_id == "auto":
        message_id = make_msgid(domain="example.test")
    if message_id:
        headers["Message-ID"] = message_id
    headers.update(extra or {})
    lines = [f"{name}: {value}" for name, value in headers.items()]
    return (
        "\r\n".join([*lines, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""])
    ).encode()


@dataclass
class Mailbox:
    """A Dovecot user made for one test."""

    host: str
    imap_port: int
    pop3_port: int
    username: str
    password: str

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=30)
        client.login(self.username, self.password)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX", seen: bool = False) -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.multiappend(folder, [{"msg": m, "flags": [b"\\Seen"] if seen else []} for m in messages])

    def uids(self, folder: str = "INBOX", criteria: str | list[str] = "ALL") -> list[int]:
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(client.search(criteria))

    def bodies(self, folder: str = "INBOX") -> list[bytes]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            data = client.fetch("1:*", [b"BODY.PEEK[]"]) if client.search("ALL") else {}
            return [data[uid][b"BODY[]"] for uid in sorted(data)]


@pytest.fixture(scope="session")
def mailbox_pool(dovecot: Any) -> list[tuple[str, str]]:
    """Dovecot users made up front: Dovecot re-reads its users file at most once a second, and a failed
    login costs two seconds, so adding one user per test would be slow and racy."""
    users = [(f"u{uuid.uuid4().hex[:12]}@example.test", f"pw-{uuid.uuid4().hex[:8]}") for _ in range(MAILBOXES)]
    lines = [line for line in dovecot.users_file.read_text().splitlines() if line]
    lines += [f"{name}:{{PLAIN}}{password}" for name, password in users]
    dovecot.users_file.write_text("\n".join(lines) + "\n")
    dovecot.add_user(*users[-1])  # also prepares the mail directory
    deadline = time.monotonic() + 20
    while True:
        try:
            with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10) as client:
                client.login(*users[0])
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
    return users


@pytest.fixture()
def mailbox(dovecot: Any, mailbox_pool: list[tuple[str, str]]) -> Mailbox:
    assert mailbox_pool, f"more than {MAILBOXES} mailbox tests: raise MAILBOXES in tests/inbound/conftest.py"
    name, password = mailbox_pool.pop()
    return Mailbox(dovecot.host, dovecot.imap_port, dovecot.pop3_port, name, password)


MAILBOXES = 200


@pytest.fixture()
def blobs_in_tmp(blob_root: Path) -> Path:
    """Where this test's blobs are (tests/conftest.py points the blob storage at a folder of each test)."""
    return blob_root


def s3_backend(swift: Any, bucket: str) -> dict[str, Any]:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": swift.endpoint_url,
            "region_name": swift.region,
            "access_key": swift.access_key,
            "secret_key": swift.secret_key,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }


@pytest.fixture()
def blobs_in_swift(swift: Any, settings: Any) -> Iterator[str]:
    """Point the encrypting blob storage at a fresh bucket of the real Swift S3 store."""
    bucket = f"jemh-{uuid.uuid4().hex[:12]}"
    swift.client().create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {"BACKEND": "jemh.storage.EncryptedStorage", "OPTIONS": {"backend": s3_backend(swift, bucket)}},
    }
    yield bucket


@pytest.fixture()
def instance(db: Any) -> Any:
    from jemh.models import Instance

    return Instance.objects.create(name=f"Acme {uuid.uuid4().hex[:6]}")


@pytest.fixture()
def make_source(instance: Any, mailbox: Mailbox) -> Callable[..., Any]:
    from inbound.models import Security, Source, SourceKind

    def make(kind: str = SourceKind.IMAP, **fields: Any) -> Source:
        values: dict[str, Any] = {
            "instance": instance,
            "name": f"{kind}-{uuid.uuid4().hex[:6]}",
            "kind": kind,
            "host": mailbox.host,
            "port": mailbox.imap_port if kind == SourceKind.IMAP else mailbox.pop3_port,
            "security": Security.NONE,
            "username": mailbox.username,
            "password": mailbox.password,
        }
        values.update(fields)
        source = Source(**values)
        source.full_clean()
        source.save()
        return source

    return make


# --- a database shared with subprocesses -------------------------------------------------------------


@dataclass
class Worker:
    """Runs ``tests/inbound/worker.py`` or ``manage.py`` in a subprocess on a migrated database of its own."""

    env: dict[str, str]

    def run(
        self, *args: str, input: bytes | None = None, extra_env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def call(self, *args: str, extra_env: dict[str, str] | None = None) -> Any:
        import json

        done = self.run("-m", "tests.inbound.worker", *args, extra_env=extra_env)
        assert done.returncode == 0, f"worker {args} failed ({done.returncode}):\n{done.stderr.decode()}"
        return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Worker:
    home = tmp_path_factory.mktemp("inbound-worker")
    if TEST_DB == "postgres":
        database_url = new_database(request.getfixturevalue("postgres").url, "jemh_inbound")
    else:
        database_url = f"sqlite:///{home / 'worker.sqlite3'}"
    return start_worker(database_url, home)


def new_database(server_url: str, prefix: str) -> str:
    """Create a database on a PostgreSQL server (by URL); returns its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def start_worker(database_url: str, home: Path) -> Worker:
    """A Worker on ``database_url``, migrated."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if not key.startswith(("JEMH_S3_", "PYTEST"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "JEMH_VAR_DIR": str(home / "var"),
            "DJANGO_SETTINGS_MODULE": "jemh.settings",
            "SECRET_KEY": settings.SECRET_KEY,
            "JEMH_ENCRYPTION_KEYS": ",".join(settings.JEMH_ENCRYPTION_KEYS),
            "JEMH_INDEX_KEY": settings.JEMH_INDEX_KEY,
            "PYTHONPATH": str(ROOT),
        }
    )
    runner = Worker(env)
    done = runner.run("manage.py", "migrate", "--noinput", timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return runner
