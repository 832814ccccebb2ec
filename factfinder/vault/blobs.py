"""Content-addressed blob store for evidentiary originals.

Each original is stored once, at ``blobs/sha256/<first two hex>/<hex digest>``,
read-only. Writing goes: stream into a private temporary file in ``tmp/``
while hashing, ``fsync`` it, rename it into place, ``fsync`` the folder. A
process killed at any moment leaves at worst a temporary file (removed on the
next run) or a complete blob that nothing refers to yet (harmless: ``verify``
lists it, and the next intake of the same bytes adopts it). It never leaves a
partial file under a digest name.

Hashing and writing overlap for large files: a writer thread writes chunk
``n`` while the reading thread hashes it, both outside the GIL, so intake runs
at the speed of the slower of the two rather than their sum.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import queue
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from factfinder.vault.errors import IntakeError

CHUNK = 1 << 20
SMALL_FILE = 4 * CHUNK
SNIFF_BYTES = 8192
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class Cancelled(Exception):
    """Intake was interrupted (Ctrl-C); the partial write has been removed."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    head: bytes  # the first bytes, for sniffing the media type
    created: bool  # False when identical bytes were already stored
    folder: Path  # the folder the blob's name lives in, to fsync before commit
    folder_synced: bool = True  # False: the caller must fsync ``folder`` before recording the blob
    pending: Path | None = None  # written but not yet durable nor named: :meth:`BlobStore.settle` finishes it


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _syncfs_function() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _syncfs_function()
SYNCFS_MIN = 32  # fewer files than this are fsynced one by one (in parallel)


def sync_filesystem(path: Path, files: list[Path]) -> None:
    """Make ``files`` (and every other change on ``path``'s filesystem) durable.

    Linux's syncfs(2) commits a whole batch with one journal flush, where an
    fsync per file pays one flush each: on a typical disk that is the
    difference between a few hundred and a few thousand small items per
    second. But syncfs also flushes whatever else is dirty on that filesystem
    (another program's writes, a database server's pages), so it is worth it
    only for a real batch: below :data:`SYNCFS_MIN` files, or without
    syncfs, each file is fsynced, several at a time.
    """
    if _SYNCFS is not None and len(files) >= SYNCFS_MIN:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    from concurrent.futures import ThreadPoolExecutor

    def one(p: Path) -> None:
        if p.is_dir():
            fsync_dir(p)
        else:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, files))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp

    def path(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / "sha256" / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def stored(self, sha256: str) -> StoredBlob:
        """A :class:`StoredBlob` for bytes already in the store (to record them again)."""
        path = self.path(sha256)
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
            size = os.fstat(fh.fileno()).st_size
        return StoredBlob(sha256, size, head, False, path.parent)

    def digests(self) -> Iterator[str]:
        """Every digest with a file in the store (for audits)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            if sub.is_dir():
                for f in sorted(sub.iterdir()):
                    if _DIGEST.match(f.name):
                        yield f.name

    # -- temporary files -----------------------------------------------------------------

    def _temp(self) -> tuple[int, Path]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        path = self.tmp / f"{os.getpid()}-{secrets.token_hex(8)}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return fd, path

    def remove_stale_temporaries(self) -> int:
        """Delete partial writes left by processes that no longer run."""
        removed = 0
        if not self.tmp.is_dir():
            return 0
        for f in self.tmp.glob("*.part"):
            pid_s = f.name.split("-", 1)[0]
            if pid_s.isdigit() and (int(pid_s) == os.getpid() or _process_alive(int(pid_s))):
                continue
            try:
                f.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    # -- writing -------------------------------------------------------------------------

    def put_file(
        self,
        src: BinaryIO,
        *,
        expected_size: int | None = None,
        cancel: threading.Event | None = None,
        progress: Callable[[int], None] | None = None,
        sync_folder: bool = True,
        defer_sync: bool = False,
    ) -> StoredBlob:
        """Stream ``src`` into the store; return its digest. Raises :class:`IntakeError`.

        With ``sync_folder=False`` the new name is not yet durable: a batch
        intake fsyncs each folder once for all its blobs, which
        :meth:`Case.record` does before committing (it checks ``folder_synced``).
        With ``defer_sync=True`` the bytes stay under a temporary name, not
        yet fsynced: :meth:`settle` makes a whole batch durable at once and
        only then gives each its final name, so a final name never points at
        bytes that a crash could lose.
        """
        fd, tmp_path = self._temp()
        try:
            if expected_size is not None and expected_size <= SMALL_FILE:
                digest, size, head = _copy_small(src, fd, progress)
            else:
                digest, size, head = _copy_pipelined(src, fd, cancel, progress)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if expected_size is not None and size != expected_size:
                raise IntakeError(f"file changed size while being read ({expected_size} -> {size} bytes)")
            if not defer_sync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp_path.unlink(missing_ok=True)
            raise
        os.close(fd)
        if defer_sync:
            return StoredBlob(digest, size, head, True, self.path(digest).parent, False, tmp_path)
        return self._place(tmp_path, digest, size, head, sync_folder)

    def settle(self, blobs: list[StoredBlob]) -> list[StoredBlob]:
        """Make a batch of blobs durable and named: one filesystem sync for the bytes, one for the names."""
        pending = [b for b in blobs if b.pending is not None]
        if pending:
            sync_filesystem(self.tmp, [b.pending for b in pending if b.pending is not None])
        settled: dict[int, StoredBlob] = {}
        for i, b in enumerate(blobs):
            if b.pending is not None:
                settled[i] = self._place(b.pending, b.sha256, b.size, b.head, sync_folder=False)
        folders = sorted({b.folder for b in [*settled.values(), *blobs] if not b.folder_synced})
        if folders:
            sync_filesystem(self.root, folders)
        done = [settled.get(i, b) for i, b in enumerate(blobs)]
        return [StoredBlob(b.sha256, b.size, b.head, b.created, b.folder) for b in done]  # durable and named

    def put_bytes(self, data: bytes) -> StoredBlob:
        import io

        return self.put_file(io.BytesIO(data), expected_size=len(data))

    def _place(self, tmp_path: Path, digest: str, size: int, head: bytes, sync_folder: bool = True) -> StoredBlob:
        target = self.path(digest)
        folder = target.parent
        if target.is_file() and target.stat().st_size == size:
            tmp_path.unlink(missing_ok=True)
            if sync_folder:  # it may have been left by a process that died before making its name durable
                fsync_dir(folder)
            return StoredBlob(digest, size, head, False, folder, sync_folder)
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(folder.parent)
        os.chmod(tmp_path, stat.S_IRUSR | stat.S_IRGRP)
        os.replace(tmp_path, target)
        if sync_folder:
            fsync_dir(folder)  # the new name must be durable before the database says it exists
        return StoredBlob(digest, size, head, True, folder, sync_folder)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(src: BinaryIO, n: int) -> bytes:
    try:
        return src.read(n)
    except OSError as exc:
        raise IntakeError(f"read failed ({exc.strerror or exc})") from exc


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise IntakeError("the case's disk is full") from exc
            raise
        view = view[n:]


def _copy_small(src: BinaryIO, fd: int, progress: Callable[[int], None] | None) -> tuple[str, int, bytes]:
    hasher = hashlib.sha256()
    size = 0
    head = b""
    while True:
        data = _read(src, SMALL_FILE + 1)
        if not data:
            break
        if not head:
            head = data[:SNIFF_BYTES]
        hasher.update(data)
        _write_all(fd, data)
        size += len(data)
        if progress:
            progress(len(data))
    return hasher.hexdigest(), size, head


def _copy_pipelined(
    src: BinaryIO, fd: int, cancel: threading.Event | None, progress: Callable[[int], None] | None
) -> tuple[str, int, bytes]:
    """Hash in this thread while a writer thread writes, chunk by chunk."""
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while (chunk := chunks.get()) is not None:
                if not failure:
                    _write_all(fd, chunk)
        except BaseException as exc:  # handed to the reading thread
            failure.append(exc)
            while chunks.get() is not None:
                pass

    thread = threading.Thread(target=writer, name="blob-writer", daemon=True)
    thread.start()
    hasher = hashlib.sha256()
    size = 0
    head = b""
    try:
        while not failure:
            if cancel is not None and cancel.is_set():
                break
            data = _read(src, CHUNK)
            if not data:
                break
            chunks.put(data)
            if not head:
                head = data[:SNIFF_BYTES]
            hasher.update(data)
            size += len(data)
            if progress:
                progress(len(data))
    finally:
        chunks.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return hasher.hexdigest(), size, head
