"""Export a case as one self-contained, verifiable ZIP; import such a ZIP.

The archive holds ``case.json``, a snapshot of the database as SQLite (taken in
one read transaction, so it is consistent even while intake goes on), the
blobs of every item in that snapshot, and the latest signed checkpoint as a
separate file for quick reference. It never holds ``keys/``: the copy can be
verified, inspected and used to make proofs, but not appended to or used to
open witness fields.

Import treats the archive as hostile until proven otherwise: only known member
names, no absolute paths, ``..``, links or duplicates; sizes are bounded and
checked while streaming rather than trusted from headers (zip bombs); every
blob is rehashed against its name; the result is fully audited in a
temporary folder and moved into place only if the audit passes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy import select

from factfinder import config
from factfinder.db import engine as dbengine
from factfinder.db.models import Base, Derivative, Item
from factfinder.vault.blobs import BlobStore
from factfinder.vault.case import Case
from factfinder.vault.errors import ArchiveError, CaseExistsError, VaultError

ROOT = "factfinder-case/"
CHECKPOINT_FILE = "checkpoint.txt"
_BLOB_MEMBER = re.compile(r"^blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})$")
MAX_MEMBERS = 5_000_000
MAX_RATIO = 200  # a deflated member expanding more than this is treated as a bomb
SMALL_MEMBER = 1 << 20  # below this, ratios mean nothing (a 1 KiB run of zeros is fine)


def export_case(case: Case, out: Path, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write ``out`` (a .zip); return counts. Written to a temporary name, then renamed."""
    out = out.resolve()
    tmp_dir = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        snapshot = tmp_dir / config.DB_FILE
        digests = _snapshot_database(case, snapshot)
        with case.engine.connect() as conn:
            note = case.log.latest_checkpoint(conn) or ""
        part = tmp_dir / "archive.zip"
        total = 0
        with zipfile.ZipFile(part, "w", allowZip64=True) as zf:
            # The archive's database is the SQLite snapshot, whatever the case itself runs on.
            archived = dataclasses.replace(case.config, database_url=None)
            zf.writestr(ROOT + config.CASE_FILE, archived.to_json(), zipfile.ZIP_DEFLATED)
            zf.writestr(ROOT + CHECKPOINT_FILE, note, zipfile.ZIP_DEFLATED)
            zf.write(snapshot, ROOT + config.DB_FILE, zipfile.ZIP_DEFLATED)
            for sha in digests:
                path = case.blobs.path(sha)
                zf.write(path, f"{ROOT}blobs/sha256/{sha[:2]}/{sha}", zipfile.ZIP_STORED)
                size = path.stat().st_size
                total += size
                if progress:
                    progress(size)
        with open(part, "rb") as fh:
            os.fsync(fh.fileno())
        part.replace(out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return {"items": len(digests), "bytes": total}


def _snapshot_database(case: Case, target: Path) -> list[str]:
    """Copy every table into a fresh SQLite file inside one read transaction."""
    dest = dbengine.make_engine(dbengine.sqlite_url(target))
    dbengine.upgrade(dest)
    try:
        with dbengine.snapshot(case.engine) as src, dest.begin() as out:
            # One read transaction (a WAL snapshot on SQLite, REPEATABLE READ on PostgreSQL) for every table.
            for table in Base.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(select(table))]
                for i in range(0, len(rows), 5000):
                    out.execute(table.insert(), rows[i : i + 5000])
            digests = sorted(
                set(src.execute(select(Item.sha256)).scalars()) | set(src.execute(select(Derivative.sha256)).scalars())
            )
    finally:
        dest.dispose()
    return digests


def _member_kind(name: str) -> str:
    if not name.startswith(ROOT):
        raise ArchiveError(f"unexpected member {name!r}: everything must be under {ROOT}")
    rel = name[len(ROOT) :]
    if rel in (config.CASE_FILE, config.DB_FILE, CHECKPOINT_FILE):
        return rel
    if _BLOB_MEMBER.match(rel) and rel.split("/")[2] == rel.split("/")[3][:2]:
        return "blob"
    if rel.endswith("/") and rel.startswith("blobs/") and ".." not in rel:
        return "dir"
    raise ArchiveError(f"unexpected member {name!r} in a case archive")


def _check_member(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"member {info.filename!r} is a symbolic link")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"member {info.filename!r} is encrypted")
    if (
        info.compress_type != zipfile.ZIP_STORED
        and info.file_size > SMALL_MEMBER
        and info.file_size > MAX_RATIO * max(info.compress_size, 1)
    ):
        raise ArchiveError(f"member {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}x: refused")


def _copy_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """Extract one member, refusing to write more than its header declared."""
    written = 0
    with zf.open(info) as src, open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > info.file_size:
                raise ArchiveError(f"member {info.filename!r} is larger than it declares")
            out.write(chunk)


def import_case(archive: Path, target: Path) -> Case:
    """Unpack, check and audit ``archive`` into the new folder ``target``."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CaseExistsError(f"{target}: exists and is not an empty folder")
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{archive}: not a readable ZIP archive") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ArchiveError("archive has too many members")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise ArchiveError("archive has duplicate member names")
            declared = sum(i.file_size for i in infos)
            free = shutil.disk_usage(target.parent).free
            if declared > free:
                raise ArchiveError(f"archive would unpack to {declared} bytes; only {free} free")
            kinds = {}
            for info in infos:
                kinds[info.filename] = _member_kind(info.filename)
                _check_member(info)
            for needed in (config.CASE_FILE, config.DB_FILE):
                if needed not in kinds.values():
                    raise ArchiveError(f"archive has no {needed}")
            store = BlobStore(work / config.BLOB_DIR, work / config.TMP_DIR)
            for info in infos:
                kind = kinds[info.filename]
                if kind == "dir":
                    continue
                if kind == "blob":
                    _import_blob(zf, info, store)
                else:
                    _copy_bounded(zf, info, work / kind)
        json.loads((work / config.CASE_FILE).read_text(encoding="utf-8"))
        case = Case.open(work)
        if case.config.database_url is not None:
            raise ArchiveError("archive's case.json points at an external database")
        from factfinder.vault.audit import verify_case

        report = verify_case(case)
        case.close()
        if not report.ok:
            first = "; ".join(str(p) for p in report.problems if p.fatal)
            raise ArchiveError(f"the archived case does not verify: {first}")
        shutil.rmtree(work / config.TMP_DIR, ignore_errors=True)
        (work / config.TMP_DIR).mkdir()
        if target.exists():
            target.rmdir()
        work.rename(target)
    except (ValueError, VaultError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{archive}: {exc}") from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Case.open(target)


def _import_blob(zf: zipfile.ZipFile, info: zipfile.ZipInfo, store: BlobStore) -> None:
    want = info.filename.rsplit("/", 1)[1]
    with zf.open(info) as src:
        bounded = _BoundedReader(src, info.file_size, info.filename)
        blob = store.put_file(bounded)  # type: ignore[arg-type]
    if blob.sha256 != want:
        store.path(blob.sha256).unlink(missing_ok=True)
        raise ArchiveError(f"blob {want[:12]} in the archive does not match its name")


class _BoundedReader:
    def __init__(self, src: IO[bytes], limit: int, name: str) -> None:
        self.src, self.left, self.name = src, limit, name

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n if n >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise ArchiveError(f"member {self.name!r} is larger than it declares")
        return data
