"""An encrypting wrapper around any Django storage: blobs are encrypted before they leave the process.

Residency: besides its default backend, the storage may hold further named backends (``JEMH_BLOB_STORAGES``, e.g.
``eu`` and ``us``, each its own bucket, region and endpoint). An instance names the one its blobs go to
(``Instance.blob_storage``); a blob stored there carries the storage's name in its own name (``eu:inbound/...``),
so reading, deleting, the purge and ``rekey`` follow each blob to the storage it is in, whatever the instance says
today. Names without such a prefix are in the default backend (every blob stored before residency existed)."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterable
from typing import Any, BinaryIO, TypeGuard

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.files.utils import validate_file_name
from django.utils.module_loading import import_string

from jemh import crypto

SPOOL_IN_MEMORY = 1024 * 1024  # larger blobs spill to a temporary file
log = logging.getLogger(__name__)


class EncryptedStorage(Storage):
    """Delegates to ``backend`` (a STORAGES-style dict) and encrypts every file's content.

    ``open`` returns a File with the decrypted content; ``size`` reports the encrypted size on the
    backend. Direct URLs are refused: an encrypted blob is only readable through the application.
    """

    def __init__(
        self, backend: dict[str, Any] | None = None, residencies: dict[str, dict[str, Any]] | None = None
    ) -> None:
        if backend is None:
            backend = settings.JEMH_BLOB_BACKEND
        self.backend_config = backend
        self.inner: Storage = _backend(backend)
        self.residencies: dict[str, Storage] = {name: _backend(config) for name, config in (residencies or {}).items()}

    def _route(self, name: str) -> tuple[Storage, str, str]:
        """The backend a blob's name points at, the name there, and the prefix that names the backend ("" default)."""
        head, sep, rest = name.partition(RESIDENCY_SEPARATOR)
        if not sep or "/" in head:
            return self.inner, name, ""
        try:
            return self.residencies[head], rest, head + RESIDENCY_SEPARATOR
        except KeyError:
            raise UnknownStorage(
                f"blob {name!r} is in storage {head!r}, which JEMH_BLOB_STORAGES does not configure (any more)"
            ) from None

    def _save(self, name: str, content: File) -> str:
        inner, bare, prefix = self._route(name)
        content.seek(0) if hasattr(content, "seek") else None
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
        for piece in crypto.encrypt_stream(content):
            spool.write(piece)
        spool.seek(0)
        try:
            return prefix + inner.save(bare, File(spool, name=bare))
        finally:
            spool.close()

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("encrypted blobs are written with save(), not opened for writing")
        inner, bare, _ = self._route(name)
        plain = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - owned by the File
        with inner.open(bare, "rb") as sealed:
            for piece in crypto.decrypt_stream(sealed):
                plain.write(piece)
        plain.seek(0)
        return File(plain, name=name)

    def make_durable(self, names: Iterable[str]) -> None:
        """Make the saved blobs survive a crash of the machine (power loss, kernel panic), not only of the process:
        before a database commit that says they exist. On a file system: each file's data flushed (fdatasync),
        then each folder holding one (its new entry); together, so the disk's flushes are shared. Another
        backend (S3) has stored an object durably once its upload returned: nothing to do."""
        folders: set[str] = set()
        for name in filter(None, names):
            inner, bare, _ = self._route(name)
            if not isinstance(inner, FileSystemStorage):
                continue
            path = inner.path(bare)
            _flush(path, data_only=True)
            folders.add(os.path.dirname(path))
        for folder in sorted(folders):
            _flush(folder, data_only=False)

    def read_bytes(self, name: str) -> bytes:
        """The whole decrypted content, decrypted straight from the backend's file (no spool in between)."""
        inner, bare, _ = self._route(name)
        plain = io.BytesIO()  # (getvalue() hands over its buffer: a large blob is held once, not as pieces and whole)
        with inner.open(bare, "rb") as sealed:
            for piece in crypto.decrypt_stream(sealed):
                plain.write(piece)
        return plain.getvalue()

    def save_bytes(self, name: str, data: bytes) -> str:
        """Store ``data`` encrypted; the name it was stored under (another one if ``name`` is taken).

        On a plain file system the sealed pieces are written straight to a new file, as FileSystemStorage would
        (same folders, flags, permissions and group), without its name search, locking and spool: blob names are
        unique (a uuid), so the search only runs, through the general path, when the name turns out to be taken."""
        inner, bare, prefix = self._route(name)
        if _writes_directly(inner):
            stored = _write_new(inner, bare, data)
            if stored is not None:
                return prefix + stored
        return self.save(name, File(io.BytesIO(data), name=name))

    def save_stream(self, name: str, stream: BinaryIO) -> str:
        return self.save(name, File(stream, name=name))

    def delete(self, name: str) -> None:
        inner, bare, _ = self._route(name)
        inner.delete(bare)

    def is_current(self, name: str) -> bool:
        """Whether the blob is already in the current format under the first key (``rekey`` leaves it)."""
        inner, bare, _ = self._route(name)
        with inner.open(bare, "rb") as sealed:
            return crypto.blob_is_current(sealed.read(64))

    def reencrypt(self, name: str) -> None:
        """Encrypt the blob again, under the first key, in place: the new content replaces the old at once (a
        file renamed over the old one; on S3 an object put over it), so a crash leaves either whole."""
        inner, bare, _ = self._route(name)
        with self.open(name) as plain:
            if isinstance(inner, FileSystemStorage):
                target = inner.path(bare)
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
                inner._save(bare, File(spool, name=bare))  # type: ignore[attr-defined]  # same key: replaced whole
            finally:
                spool.close()

    def walk(self, folder: str = "") -> Iterable[str]:
        """Every blob's name under ``folder`` (depth first, folders in name order), in the default backend and then
        in each further storage (those names carry the storage's prefix)."""
        yield from _walk(self.inner, folder)
        for residency, inner in sorted(self.residencies.items()):
            for name in _walk(inner, folder):
                yield residency + RESIDENCY_SEPARATOR + name

    def exists(self, name: str) -> bool:
        inner, bare, _ = self._route(name)
        return inner.exists(bare)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        inner, bare, _ = self._route(path)
        return inner.listdir(bare)

    def size(self, name: str) -> int:
        inner, bare, _ = self._route(name)
        return inner.size(bare)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("encrypted blobs have no direct URL; serve them through a view")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        inner, bare, prefix = self._route(name)
        limit = None if max_length is None else max_length - len(prefix)
        return prefix + inner.get_available_name(bare, max_length=limit)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        inner, bare, prefix = self._route(str(filename))
        return prefix + inner.generate_filename(bare)

    def get_modified_time(self, name: str) -> Any:
        inner, bare, _ = self._route(name)
        return inner.get_modified_time(bare)

    def path(self, name: str) -> str:
        inner, bare, _ = self._route(name)
        return inner.path(bare)

    def resident_name(self, storage_name: str, name: str) -> str:
        """The name to store a blob under so that it lands in the storage ``storage_name`` ("" the default one)."""
        if not storage_name:
            return name
        if storage_name not in self.residencies:
            raise UnknownStorage(f"storage {storage_name!r} is not configured: add it to JEMH_BLOB_STORAGES")
        return storage_name + RESIDENCY_SEPARATOR + name

    def storage_of(self, name: str) -> str:
        """The name of the storage a blob is in ("" for the default one)."""
        return self._route(name)[2].rstrip(RESIDENCY_SEPARATOR)


RESIDENCY_SEPARATOR = ":"


class UnknownStorage(ValueError):
    """A blob or an instance names a storage that JEMH_BLOB_STORAGES does not configure."""


def _flush(path: str, *, data_only: bool) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        (getattr(os, "fdatasync", os.fsync) if data_only else os.fsync)(fd)  # (macOS has no fdatasync)
    finally:
        os.close(fd)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _writes_directly(inner: Storage) -> TypeGuard[FileSystemStorage]:
    """Whether ``save_bytes`` may write to the backend's files itself: a FileSystemStorage with Django's own
    semantics (no overwriting, the standard open flags, folders created with the default mode)."""
    return (
        isinstance(inner, FileSystemStorage)
        and not getattr(inner, "_allow_overwrite", False)
        and getattr(inner, "OS_OPEN_FLAGS", _NEW_FILE) == _NEW_FILE
        and inner.directory_permissions_mode is None
    )


def _write_new(inner: FileSystemStorage, name: str, data: bytes) -> str | None:
    """Write ``data`` encrypted to a new file ``name`` (relative, checked like Storage.save checks it), piece by
    piece (a large blob is never held twice); None if the file exists."""
    validate_file_name(name, allow_relative_path=True)
    path = inner.path(name)  # refuses a name that leads out of the storage's folder
    try:
        fd = os.open(path, _NEW_FILE, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, _NEW_FILE, 0o666)
        except FileExistsError:
            return None
    except FileExistsError:
        return None
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in crypto.encrypt_stream(io.BytesIO(data)):
                out.write(piece)
        if inner.file_permissions_mode is not None:
            os.chmod(path, inner.file_permissions_mode)
        inner._ensure_location_group_id(path)  # type: ignore[attr-defined]  # as FileSystemStorage._save does
    except BaseException:
        os.unlink(path)
        raise
    return os.path.relpath(path, inner.location).replace("\\", "/")


def _backend(config: dict[str, Any]) -> Storage:
    storage: Storage = import_string(config["BACKEND"])(**config.get("OPTIONS", {}))
    return storage


def _walk(inner: Storage, folder: str) -> Iterable[str]:
    try:
        folders, files = inner.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    prefix = f"{folder.rstrip('/')}/" if folder else ""
    for name in sorted(files):
        if not name.startswith(".rekey-"):
            yield prefix + name
    for sub in sorted(folders):
        yield from _walk(inner, prefix + sub)


def storage_names() -> list[str]:
    """The further storages an instance may name (``JEMH_BLOB_STORAGES``), in name order."""
    return sorted(blob_storage().residencies)


def instance_blob_name(instance: Any, name: str) -> str:
    """Where a blob of ``instance`` (anything with a ``blob_storage`` attribute, or None) is stored: ``name`` in the
    storage the instance names."""
    return blob_storage().resident_name(getattr(instance, "blob_storage", "") or "", name)


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
