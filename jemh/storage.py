"""An encrypting wrapper around any Django storage: blobs are encrypted before they leave the process."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterable
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.module_loading import import_string

from jemh import crypto

SPOOL_IN_MEMORY = 1024 * 1024  # larger blobs spill to a temporary file
log = logging.getLogger(__name__)


class EncryptedStorage(Storage):
    """Delegates to ``backend`` (a STORAGES-style dict) and encrypts every file's content.

    ``open`` returns a File with the decrypted content; ``size`` reports the encrypted size on the
    backend. Direct URLs are refused: an encrypted blob is only readable through the application.
    """

    def __init__(self, backend: dict[str, Any] | None = None) -> None:
        if backend is None:
            backend = settings.JEMH_BLOB_BACKEND
        self.backend_config = backend
        self.inner: Storage = import_string(backend["BACKEND"])(**backend.get("OPTIONS", {}))

    def _save(self, name: str, content: File) -> str:
        content.seek(0) if hasattr(content, "seek") else None
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
        for piece in crypto.encrypt_stream(content):
            spool.write(piece)
        spool.seek(0)
        try:
            return self.inner.save(name, File(spool, name=name))
        finally:
            spool.close()

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("encrypted blobs are written with save(), not opened for writing")
        plain = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - owned by the File
        with self.inner.open(name, "rb") as sealed:
            for piece in crypto.decrypt_stream(sealed):
                plain.write(piece)
        plain.seek(0)
        return File(plain, name=name)

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def save_bytes(self, name: str, data: bytes) -> str:
        return self.save(name, File(io.BytesIO(data), name=name))

    def save_stream(self, name: str, stream: BinaryIO) -> str:
        return self.save(name, File(stream, name=name))

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def is_current(self, name: str) -> bool:
        """Whether the blob is already in the current format under the first key (``rekey`` leaves it)."""
        with self.inner.open(name, "rb") as sealed:
            return crypto.blob_is_current(sealed.read(64))

    def reencrypt(self, name: str) -> None:
        """Encrypt the blob again, under the first key, in place: the new content replaces the old at once (a
        file renamed over the old one; on S3 an object put over it), so a crash leaves either whole."""
        with self.open(name) as plain:
            if isinstance(self.inner, FileSystemStorage):
                target = self.inner.path(name)
                fd, spare = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".rekey-")
                try:
                    with os.fdopen(fd, "wb") as out:
                        for piece in crypto.encrypt_stream(plain):
                            out.write(piece)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(spare, target)
                except BaseException:
                    if os.path.exists(spare):
                        os.unlink(spare)
                    raise
                return
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
            for piece in crypto.encrypt_stream(plain):
                spool.write(piece)
            spool.seek(0)
            try:
                self.inner._save(name, File(spool, name=name))  # type: ignore[attr-defined]  # same key: replaced whole
            finally:
                spool.close()

    def walk(self, folder: str = "") -> Iterable[str]:
        """Every blob's name under ``folder`` (depth first, folders in name order)."""
        try:
            folders, files = self.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        for name in sorted(files):
            if not name.startswith(".rekey-"):
                yield prefix + name
        for sub in sorted(folders):
            yield from self.walk(prefix + sub)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def size(self, name: str) -> int:
        return self.inner.size(name)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("encrypted blobs have no direct URL; serve them through a view")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.inner.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return self.inner.generate_filename(filename)

    def get_modified_time(self, name: str) -> Any:
        return self.inner.get_modified_time(name)

    def path(self, name: str) -> str:
        return self.inner.path(name)


def blob_storage() -> EncryptedStorage:
    storage = storages["blobs"]
    assert isinstance(storage, EncryptedStorage)
    return storage


def discard_blobs(names: Iterable[str], what: str) -> None:
    """Delete the named blobs (empty names are skipped), best effort: one the storage cannot remove is logged, not
    raised, and stays behind as an orphan for the purge. ``what`` says what they were, for the log."""
    storage = blob_storage()
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:
            log.warning("could not remove the %s %s; it stays as an orphan blob", what, name)
