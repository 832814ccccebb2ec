"""Resumable uploads for large files over bad connections (tus-like, offset based).

A client announces a file's size, then sends it in chunks, each saying at
which offset it starts. The server accepts a chunk only at exactly the offset
it has reached, so a replayed or overlapping chunk is refused (409, with the
offset to resume from) and can never duplicate bytes. On completion the
client's SHA-256 of the whole file must equal the server's; otherwise the
upload is discarded. The bytes live in ``tmp/uploads/``, checked but not
evidence, until a submission names the upload: only then do they enter the
blob store, so an upload nobody submits leaves nothing there.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from factfinder.db import engine as dbengine
from factfinder.db.models import Upload
from factfinder.vault.blobs import StoredBlob
from factfinder.vault.case import Case
from factfinder.vault.errors import IntakeError

MAX_CHUNK = 8 << 20
EXPIRE_SECONDS = 7 * 24 * 3600


class OffsetMismatch(IntakeError):
    """A chunk that does not start where the upload stands."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"upload is at offset {offset}")
        self.offset = offset


class UploadNotFound(IntakeError):
    pass


@dataclass(frozen=True)
class UploadState:
    id: str
    size: int
    offset: int
    sha256: str | None


def _dir(case: Case) -> Path:
    folder = case.blobs.tmp / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create(case: Case, size: int, filename: str | None, max_bytes: int) -> UploadState:
    if size < 0:
        raise IntakeError("upload size must not be negative")
    if size > max_bytes:
        raise IntakeError(f"upload of {size} bytes is over the limit of {max_bytes}")
    upload_id = secrets.token_urlsafe(24)
    (_dir(case) / upload_id).touch(exist_ok=False)
    with dbengine.write_transaction(case.engine) as conn:
        expired = Upload.created_at < time.time() - EXPIRE_SECONDS
        for old in conn.execute(select(Upload.id).where(expired)).scalars():
            (_dir(case) / old).unlink(missing_ok=True)
        conn.execute(delete(Upload).where(expired))
        conn.execute(
            insert(Upload).values(id=upload_id, total_size=size, received=0, filename=filename, created_at=time.time())
        )
    return UploadState(upload_id, size, 0, None)


def state(case: Case, upload_id: str) -> UploadState:
    with case.engine.connect() as conn:
        row = conn.execute(select(Upload).where(Upload.id == upload_id)).first()
    if row is None:
        raise UploadNotFound("no such upload")
    return UploadState(row.id, row.total_size, row.received, row.sha256)


def append(case: Case, upload_id: str, offset: int, data: bytes) -> UploadState:
    """Write ``data`` at ``offset``, which must be where the upload stands."""
    if len(data) > MAX_CHUNK:
        raise IntakeError(f"chunks are at most {MAX_CHUNK} bytes")
    with dbengine.write_transaction(case.engine) as conn:  # the write lock orders concurrent chunks
        row = conn.execute(select(Upload).where(Upload.id == upload_id)).first()
        if row is None:
            raise UploadNotFound("no such upload")
        if row.sha256 is not None or offset != row.received:
            raise OffsetMismatch(row.received)
        if row.received + len(data) > row.total_size:
            raise IntakeError("chunk goes past the announced size")
        path = _dir(case) / upload_id
        with open(path, "r+b") as fh:
            fh.truncate(offset)  # drop bytes of a chunk whose transaction did not commit
            fh.seek(offset)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        conn.execute(update(Upload).where(Upload.id == upload_id).values(received=offset + len(data)))
    return UploadState(upload_id, row.total_size, offset + len(data), None)


def complete(case: Case, upload_id: str, claimed_sha256: str) -> UploadState:
    """Check the whole file against the client's digest; a mismatch discards the upload."""
    current = state(case, upload_id)
    if current.sha256 is not None:
        return current
    if current.offset != current.size:
        raise OffsetMismatch(current.offset)
    path = _dir(case) / upload_id
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if not secrets.compare_digest(digest, claimed_sha256.strip().lower()):
        discard(case, upload_id)
        raise IntakeError("the uploaded file's SHA-256 is not the one the client computed: upload discarded")
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(update(Upload).where(Upload.id == upload_id).values(sha256=digest))
    return UploadState(upload_id, current.size, current.size, digest)


def discard(case: Case, upload_id: str) -> None:
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(delete(Upload).where(Upload.id == upload_id))
    (_dir(case) / upload_id).unlink(missing_ok=True)


def take_completed(case: Case, upload_ids: list[str]) -> list[tuple[StoredBlob, str | None]]:
    """Store the files of completed uploads a submission names, each once.

    Unknown or unfinished ids are refused before anything is stored.
    """
    with case.engine.connect() as conn:
        rows = [conn.execute(select(Upload).where(Upload.id == i)).first() for i in dict.fromkeys(upload_ids)]
    if any(row is None or row.sha256 is None for row in rows):
        raise IntakeError("a named upload is unknown or not complete")
    out = []
    for row in rows:
        assert row is not None
        with open(_dir(case) / row.id, "rb") as fh:
            blob = case.blobs.put_file(fh, expected_size=row.total_size)
        if blob.sha256 != row.sha256:
            raise IntakeError("an upload changed after it was completed: send it again")
        out.append((blob, row.filename))
    return out


def forget(case: Case, upload_ids: list[str]) -> None:
    """Drop uploads a submission has recorded (their bytes are in the blob store now)."""
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(delete(Upload).where(Upload.id.in_(upload_ids)))
    for upload_id in upload_ids:
        (_dir(case) / upload_id).unlink(missing_ok=True)
